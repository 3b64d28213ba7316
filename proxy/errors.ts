// API errors as constants carrying their HTTP status, with Toxiproxy's exact messages and body shape
// ({"error": "...", "status": N}). The API layer only maps these to responses.

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
  toJSON(): { error: string; status: number } {
    return { error: this.message, status: this.status };
  }
}

/** Toxiproxy's joinError: "<wrapper message>: <detail>" with the wrapper's status. */
export function joinError(detail: string, wrapper: ApiError): ApiError {
  return new ApiError(`${wrapper.message}: ${detail}`, wrapper.status);
}

// Toxiproxy's constants (api.go), same text and status.
export const ErrBadRequestBody = new ApiError('bad request body', 400);
export const ErrMissingField = new ApiError('missing required field', 400);
export const ErrProxyNotFound = new ApiError('proxy not found', 404);
export const ErrProxyAlreadyExists = new ApiError('proxy already exists', 409);
export const ErrInvalidStream = new ApiError('stream was invalid, can be either upstream or downstream', 400);
export const ErrInvalidToxicType = new ApiError('invalid toxic type', 400);
export const ErrToxicAlreadyExists = new ApiError('toxic already exists', 409);
export const ErrToxicNotFound = new ApiError('toxic not found', 404);

// Faultline's additions.
// A listen address in use is Toxiproxy's 500 with Go's text ("listen tcp 127.0.0.1:3310: bind: address
// already in use"): clients map 409 to "proxy exists", so the status stays Toxiproxy's (proxy.ts).
export const ErrListenFailed = new ApiError('cannot listen', 400);
export const ErrListenOffLoopback = new ApiError('listen address is not loopback and the admin API has no token', 403);
export const ErrLoop = new ApiError('would loop into this proxy server', 400);
export const ErrLimit = new ApiError('limit reached', 409);
export const ErrMalformedRequest = new ApiError('malformed HTTP request', 400);
export const ErrMissingHost = new ApiError('missing required Host header', 400);
export const ErrHeadersTooLarge = new ApiError('request header fields too large', 431);
export const ErrRequestTimeout = new ApiError('request timeout', 408);
export const ErrInvalidValue = new ApiError('invalid value', 400);
export const ErrUnauthorized = new ApiError('missing or invalid bearer token', 401);
export const ErrBrowser = new ApiError('User agent not allowed', 403);
export const ErrRouteNotFound = new ApiError('not found', 404);
export const ErrMethodNotAllowed = new ApiError('method not allowed', 405);
export const ErrBodyTooLarge = new ApiError('request body too large', 413);
