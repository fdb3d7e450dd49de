.PHONY: all build test bench clean

all: build

node_modules: package.json package-lock.json
	npm ci
	touch node_modules

build: node_modules
	npx tsc -p tsconfig.json

test: node_modules
	npm test

bench: node_modules
	npm run bench

clean:
	rm -rf dist
