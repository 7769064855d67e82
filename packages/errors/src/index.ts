export { ERROR_CATALOGUE, isErrorCode, type ErrorCode } from './catalogue.js';
export { AppError, badInput, type AppErrorOptions } from './app-error.js';
export { maskFormattedError, type MaskOptions } from './mask.js';
