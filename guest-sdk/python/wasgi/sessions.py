"""wasgi.sessions: server-side sessions kept in a key-value store, for apps
whose requests each run in a fresh instance.

Flask: `app.session_interface = wasgi.sessions.FlaskSessions()`; then
`flask.session` works as usual, its data in the store and only a random
session id in the cookie. Any other WSGI app or framework (bottle):

    sessions = wasgi.sessions.Sessions()
    data, sid = sessions.load(environ)          # a dict, and its id (None: new)
    data["user"] = "ada"
    headers.append(sessions.save(data, sid))    # ('Set-Cookie', ...)
"""

import json
import secrets

import wasgi.kv


class Sessions:
    """Sessions as JSON under `prefix` + id in the store `store`."""

    def __init__(self, store="default", cookie="session", prefix="session:", max_age=14 * 86400):
        self.store_label = store
        self.cookie = cookie
        self.prefix = prefix
        self.max_age = max_age

    def _store(self):
        return wasgi.kv.open(self.store_label)

    def _id(self, environ):
        for part in environ.get("HTTP_COOKIE", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie and value:
                return value
        return None

    def load(self, environ):
        """The request's session data, and its id (None: none yet)."""
        sid = self._id(environ)
        if sid is not None:
            raw = self._store().get(self.prefix + sid)
            if raw is not None:
                return json.loads(raw), sid
        return {}, None

    def save(self, data, sid=None):
        """Stores `data`; the `Set-Cookie` header to send."""
        sid = sid or secrets.token_urlsafe(24)
        self._store()[self.prefix + sid] = json.dumps(data)
        cookie = f"{self.cookie}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={self.max_age}"
        return ("Set-Cookie", cookie)

    def delete(self, sid):
        """Forgets the session `sid`."""
        self._store().pop(self.prefix + sid, None)


try:
    from flask.sessions import SessionInterface, SessionMixin
except ImportError:  # Flask is not in the app
    SessionInterface = None

if SessionInterface is not None:

    class _FlaskSession(dict, SessionMixin):
        def __init__(self, data, sid):
            super().__init__(data)
            self.sid = sid
            self.modified = False

        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            self.modified = True

        def __delitem__(self, key):
            super().__delitem__(key)
            self.modified = True

    class FlaskSessions(SessionInterface):
        """Flask's session, kept in a key-value store."""

        def __init__(self, store="default", prefix="session:"):
            self.sessions = Sessions(store=store, prefix=prefix)

        def open_session(self, app, request):
            self.sessions.cookie = app.config.get("SESSION_COOKIE_NAME", "session")
            data, sid = self.sessions.load(request.environ)
            return _FlaskSession(data, sid)

        def save_session(self, app, session, response):
            if not session.modified and session.sid is not None:
                return
            if not session and session.sid is not None:
                self.sessions.delete(session.sid)
                response.delete_cookie(self.sessions.cookie, path="/")
                return
            if not session:
                return
            _, cookie = self.sessions.save(dict(session), session.sid)
            response.headers.add("Set-Cookie", cookie)
