"""wasgi.sessions: server-side sessions kept in a key-value store, for apps
whose requests each run in a fresh instance.

Flask: `app.session_interface = wasgi.sessions.FlaskSessions()`; then
`flask.session` works as with Flask's own cookie sessions (every mutating
method marks it modified, `session.permanent`, the `SESSION_COOKIE_*` and
`PERMANENT_SESSION_LIFETIME` settings, Flask's tagged JSON), its data in
the store and only a random id in the cookie. Any other WSGI app or
framework (bottle):

    sessions = wasgi.sessions.Sessions()
    data, sid = sessions.load(environ)          # a dict, and its id (None: new)
    data["user"] = "ada"
    headers.append(sessions.save(data, sid))    # ('Set-Cookie', ...)
    headers.append(sessions.delete(sid))        # logout: forgotten, cookie expired

Why it is shaped so: the store holds a session under a hash of its id, so
whoever reads the store learns no id a browser could present; a stored
session carries its own expiry, so an id stolen or kept past its cookie's
`Max-Age` opens nothing; and a session whose user changes (Flask-Login's
`_user_id` set at login, removed at logout) gets a new id, as Django's
`login` cycles its key, so an id planted before login is worth nothing
after it.
"""

import hashlib
import json
import secrets
import time

import wasgi.kv

# The user a session belongs to, as Flask-Login keeps it: when it changes,
# the session changes id.
USER_KEY = "_user_id"


def new_id():
    """A fresh session id: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


class Sessions:
    """Sessions under `prefix` + a hash of their id in the store `store`,
    each kept for `max_age` seconds after it was last saved."""

    def __init__(self, store="default", cookie="session", prefix="session:", max_age=14 * 86400):
        self.store_label = store
        self.cookie = cookie
        self.prefix = prefix
        self.max_age = max_age

    def _store(self):
        return wasgi.kv.open(self.store_label)

    def _key(self, sid):
        return self.prefix + hashlib.sha256(sid.encode("utf-8", "surrogateescape")).hexdigest()

    def id_from(self, environ):
        """The session id the request's cookie names, or None."""
        for part in environ.get("HTTP_COOKIE", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie and value:
                return value.strip('"')
        return None

    def read(self, sid):
        """The stored text of the live session `sid`, or None (none, or
        expired)."""
        raw = self._store().get(self._key(sid))
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            if record["expires"] < time.time():
                return None
            return record["data"]
        except (ValueError, TypeError, KeyError):
            return None

    def write(self, sid, text, max_age):
        """Stores the text `text` as the session `sid` for `max_age` seconds."""
        record = {"expires": time.time() + max_age, "data": text}
        self._store()[self._key(sid)] = json.dumps(record)

    def forget(self, sid):
        """Removes the session `sid` from the store."""
        self._store().pop(self._key(sid), None)

    def load(self, environ):
        """The request's session data, and its id (None: none yet, or the
        one it named is unknown or expired)."""
        sid = self.id_from(environ)
        if sid is not None:
            text = self.read(sid)
            if text is not None:
                return json.loads(text), sid
        return {}, None

    def id_to_save(self, sid, stored_user, user):
        """The id to save a session under: `sid`, or a new one when there
        is none or the session's user changed since it was stored (the old
        id is forgotten)."""
        if sid is not None and stored_user != user:
            self.forget(sid)
            sid = None
        return sid or new_id()

    def save(self, data, sid=None):
        """Stores `data` as the session `sid` (a new one for None); the
        `Set-Cookie` header to send. A session whose `_user_id` changed
        since it was stored is moved to a new id."""
        stored = self.read(sid) if sid is not None else None
        stored_user = json.loads(stored).get(USER_KEY) if stored is not None else None
        sid = self.id_to_save(sid, stored_user, data.get(USER_KEY))
        self.write(sid, json.dumps(data), self.max_age)
        return self._cookie(sid, self.max_age)

    def delete(self, sid):
        """Forgets the session `sid`; the `Set-Cookie` header that expires
        its cookie."""
        if sid is not None:
            self.forget(sid)
        return self._cookie("", 0)

    def _cookie(self, value, max_age):
        cookie = f"{self.cookie}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
        return ("Set-Cookie", cookie)


try:
    from flask.sessions import SecureCookieSession, SessionInterface, session_json_serializer
except ImportError:  # Flask is not in the app
    SessionInterface = None

if SessionInterface is not None:

    def _partitioned(interface, app):
        # SESSION_COOKIE_PARTITIONED is Flask 3.1's.
        get = getattr(interface, "get_cookie_partitioned", None)
        return {"partitioned": get(app)} if get is not None else {}

    class _FlaskSession(SecureCookieSession):
        # Flask's own session class: every mutating method (`pop`, `clear`,
        # `update`, `setdefault`, `popitem`, `|=`, ...) marks it modified,
        # and reads mark it accessed. Only the id is added.
        def __init__(self, data=None, sid=None, user=None):
            super().__init__(data)
            self.sid = sid
            self.stored_user = user

    class FlaskSessions(SessionInterface):
        """Flask's session, kept in a key-value store."""

        session_class = _FlaskSession
        # Flask's tagged JSON: tuples, bytes, datetimes, UUIDs and Markup
        # come back as they went in, as with Flask's cookie sessions.
        serializer = session_json_serializer

        def __init__(self, store="default", prefix="session:"):
            self.sessions = Sessions(store=store, prefix=prefix)

        def open_session(self, app, request):
            self.sessions.cookie = self.get_cookie_name(app)
            sid = request.cookies.get(self.sessions.cookie) or None
            text = self.sessions.read(sid) if sid else None
            if text is None:
                return self.session_class()
            try:
                data = self.serializer.loads(text)
            except Exception:
                return self.session_class()
            return self.session_class(data, sid, data.get(USER_KEY))

        def save_session(self, app, session, response):
            name = self.get_cookie_name(app)
            domain = self.get_cookie_domain(app)
            path = self.get_cookie_path(app)
            secure = self.get_cookie_secure(app)
            samesite = self.get_cookie_samesite(app)
            httponly = self.get_cookie_httponly(app)
            if session.accessed:
                response.vary.add("Cookie")
            if not session:
                if session.modified and session.sid is not None:
                    self.sessions.forget(session.sid)
                    response.delete_cookie(
                        name, domain=domain, path=path, secure=secure,
                        samesite=samesite, httponly=httponly,
                    )
                    response.vary.add("Cookie")
                return
            if not (session.modified or self.should_set_cookie(app, session)):
                return
            sid = self.sessions.id_to_save(session.sid, session.stored_user, session.get(USER_KEY))
            lifetime = app.permanent_session_lifetime.total_seconds()
            self.sessions.write(sid, self.serializer.dumps(dict(session)), lifetime)
            response.set_cookie(
                name, sid, expires=self.get_expiration_time(app, session),
                httponly=httponly, domain=domain, path=path, secure=secure,
                samesite=samesite, **_partitioned(self, app),
            )
            response.vary.add("Cookie")
