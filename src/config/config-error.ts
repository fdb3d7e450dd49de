// A start-up (or reload) refusal: one line saying what is wrong and how to
// fix it. Its own module so the config readers can import it without
// importing the Config type they feed.
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
