// The manager's documented API (openapi.yaml), with the token the console signed in with.
const tokenKey = "dialer.console.token";

export const session = {
  get token() { return sessionStorage.getItem(tokenKey); },
  set token(value) { value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey); },
};

/** An API error: status, code, message, and the message split by field ("settings.ring_timeout"). */
export class APIError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error ?? "";
    this.fields = APIError.fieldsOf(this.message);
  }

  /** "settings.a: x; settings.b[2]: y" → {"settings.a": "x", "settings.b[2]": "y"}. */
  static fieldsOf(message) {
    const fields = {};
    for (const part of message.split("; ")) {
      const match = /^([A-Za-z_][\w.]*(?:\[\d+\])?(?:\.[\w]+)*(?:\[\d+\])?): (.+)$/.exec(part);
      if (match) fields[match[1]] = match[2];
    }
    return fields;
  }
}

export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (raw) return response;
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new APIError(response.status, json);
  return json;
}

/** Uploads `file` with progress (fetch has no upload progress): resolves with the JSON answer. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("Authorization", `Bearer ${session.token}`);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    request.onload = () => {
      const json = request.responseText ? JSON.parse(request.responseText) : null;
      if (request.status >= 200 && request.status < 300) { onProgress(1); resolve(json); }
      else reject(new APIError(request.status, json));
    };
    request.onerror = () => reject(new Error("upload failed"));
    request.send(file);
  });
}

export const encode = encodeURIComponent;
