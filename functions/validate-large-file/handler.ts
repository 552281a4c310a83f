// Lambda entry of the ValidateLargeFile state: ValidateFile's code on a function with every vCPU Lambda gives
// (10,240 MB: 6), parsing byte ranges on worker threads, for files above `largeFileThresholdBytes`.
import { validationHandler } from '../validate-file/handler.ts';

export const handler = validationHandler('validate-large-file');
