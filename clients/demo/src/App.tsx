// Log in as any user (the development app's /dev/login), then chat. The token is kept for the
// tab (sessionStorage), so a reload stays logged in; two tabs can be two users.
import { useCallback, useState } from "react";
import { devLogin, type Login } from "./api";
import { Chat } from "./Chat";

const KEY = "imql-demo-login";

function saved(): Login | null {
  try {
    const login = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Login | null;
    return login && login.expireTime > Date.now() / 1000 ? login : null;
  } catch {
    return null;
  }
}

export function App() {
  const [login, setLogin] = useState<Login | null>(saved);
  const [notice, setNotice] = useState<string | null>(null);
  const logout = useCallback((reason?: string) => {
    sessionStorage.removeItem(KEY);
    setLogin(null);
    setNotice(reason ?? null);
  }, []);
  if (login) return <Chat key={login.token} login={login} onLogout={logout} />;
  return (
    <LoginForm
      notice={notice}
      onLogin={(l) => {
        sessionStorage.setItem(KEY, JSON.stringify(l));
        setNotice(null);
        setLogin(l);
      }}
    />
  );
}

function LoginForm({ notice, onLogin }: { notice: string | null; onLogin(login: Login): void }) {
  const [userID, setUserID] = useState(() => new URLSearchParams(location.search).get("user") ?? "");
  const [error, setError] = useState<string | null>(notice);
  return (
    <form
      className="login"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          onLogin(await devLogin(userID.trim()));
        } catch (err) {
          setError(err instanceof Error ? err.message : String(err));
        }
      }}
    >
      <h1>imql demo chat</h1>
      <p>Development app: log in as any user. Open another window to be someone else.</p>
      <input aria-label="user ID" placeholder="user ID, e.g. alice" value={userID} onChange={(e) => setUserID(e.target.value)} autoFocus />
      <button type="submit">Log in</button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
