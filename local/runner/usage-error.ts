// The error for a local run the person has to change (a state folder in use, a missing setting): exit code 2.
export class LocalUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalUsageError';
  }
}
