import { escapeXml } from '../escapeXml.js';

// GET /login: the form a person types http.token into; POST /login checks it and sets the session
// cookie (see access.ts). Relative URLs throughout, so it works behind a reverse proxy's sub-path.

/** The login form, with `error` (escaped) above it after a wrong token. */
export function loginPage(nonce: string, error?: string): string {
  const message = error === undefined ? '' : `<p class="error" role="alert">${escapeXml(error)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fieldbridge · log in</title>
<style nonce="${nonce}">
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  form { max-width: 340px; margin: 15vh auto 0; padding: 20px; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
  h1 { font-size: 18px; margin: 0 0 12px; }
  label { display: block; margin-bottom: 4px; color: #656d76; }
  input { width: 100%; box-sizing: border-box; padding: 6px 8px; font: inherit; margin-bottom: 12px; }
  button { padding: 6px 16px; font: inherit; }
  .error { color: #cf222e; margin: 0 0 12px; }
</style>
</head>
<body>
<form method="post" action="login">
  <h1>fieldbridge</h1>
  ${message}
  <label for="token">Access token (http.token)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Log in</button>
</form>
</body>
</html>
`;
}
