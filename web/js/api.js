// REST calls. The session cookie authenticates; a failure is thrown as an
// ApiError carrying the protocol's error code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, "unavailable", "The server cannot be reached. Check your connection and try again.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, say: reported below by status.
  }
  if (!response.ok) {
    const error = data?.error ?? { code: response.status >= 500 ? "unavailable" : "internal", message: `The server answered ${response.status}.` };
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}
