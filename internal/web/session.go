package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

// Cookie names.
const (
	cookieSession = "tsuna_session"
	cookieSignIn  = "tsuna_signin" // the sign-in form's double-submit CSRF token
)

// Principal is the signed-in person: their session and the token it acts
// for, whose role and team decide what they may do.
type Principal struct {
	Session *auth.Session
	Token   *auth.Token
	// CSRF is the token every form of this session carries.
	CSRF string
}

// CanChange reports whether the person may change objects of team: the
// API's rule.
func (p *Principal) CanChange(team string) bool { return p != nil && p.Token.CanChangeTeam(team) }

// IsAdmin reports whether the person holds an admin token.
func (p *Principal) IsAdmin() bool { return p != nil && p.Token.IsAdmin() }

// actor is who makes a change from the console, for the audit log.
func (p *Principal) actor(w http.ResponseWriter) audit.Actor {
	return audit.Actor{Name: p.Token.Name, Source: audit.SourceUI, RequestID: w.Header().Get("X-Request-Id")}
}

// csrfOf derives a session's CSRF token from its secret: only a holder
// of the (HttpOnly) cookie can know it, and it changes with each session.
func csrfOf(secret string) string {
	sum := sha256.Sum256([]byte("tsuna console csrf\x00" + secret))
	return hex.EncodeToString(sum[:16])
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// secure sets the security headers of every console response.
func (c *Console) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if c.isHTTPS(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// isHTTPS reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so.
func (c *Console) isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" || len(c.proxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range c.proxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.isHTTPS(r), SameSite: sameSite})
}

// authed runs h for a signed-in person. A page request without a live
// session is sent to sign in; a form post also needs the session's CSRF
// token and a same-origin Origin, if the browser sends one.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Add("Vary", "Cookie")
		p, why := c.principal(r)
		if p == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				c.errorPage(w, r, nil, http.StatusUnauthorized, "Signed out", why+". Sign in and try again.")
				return
			}
			q := url.Values{"next": {r.URL.RequestURI()}}
			if why != "" {
				q.Set("why", why)
			}
			http.Redirect(w, r, "/signin?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				c.errorPage(w, r, p, http.StatusForbidden, "Refused", "This form was sent from another site. Nothing was changed.")
				return
			}
			if err := r.ParseForm(); err != nil {
				c.errorPage(w, r, p, http.StatusBadRequest, "Bad form", "The form could not be read. Nothing was changed.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(p.CSRF)) != 1 {
				c.errorPage(w, r, p, http.StatusForbidden, "Refused",
					"This form did not carry this session's security token (it may come from another site, or from before you signed in again). Nothing was changed; reload the page and try again.")
				return
			}
		}
		h(w, r, p)
	})
}

// principal returns the signed-in person, or nil and why not.
func (c *Console) principal(r *http.Request) (*Principal, string) {
	ck, err := r.Cookie(cookieSession)
	if err != nil || ck.Value == "" {
		return nil, ""
	}
	if len(ck.Value) > 128 {
		return nil, "your session is not valid"
	}
	now := c.now()
	s, tok, err := c.store.SessionBySecretHash(r.Context(), auth.HashSecret(ck.Value), now)
	if err != nil {
		if tsuna.ErrorCode(err) == tsuna.EUNAUTHORIZED {
			return nil, strings.TrimSuffix(strings.SplitN(tsuna.ErrorMessage(err), ":", 2)[0], ".")
		}
		c.log.Error("look up session", "err", err)
		return nil, "sessions are unavailable right now"
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		if err := c.store.TouchSession(r.Context(), s.ID, now); err != nil {
			c.log.Warn("touch session", "err", err)
		}
	}
	return &Principal{Session: s, Token: tok, CSRF: csrfOf(ck.Value)}, ""
}

// sameOrigin is false when the browser says the request comes from
// another origin (Origin, or Sec-Fetch-Site).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// localPath keeps next only when it is a path on this site.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") || len(next) > 2000 {
		return "/"
	}
	return next
}

type signInData struct {
	Next, Why, Error, CSRF string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if p, _ := c.principal(r); p != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showSignIn(w, r, http.StatusOK, "")
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomHex(16)
	c.setCookie(w, r, cookieSignIn, token, 3600, http.SameSiteStrictMode)
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostForm.Get("next")
	}
	c.renderStatus(w, r, status, c.pages["signin"], nil, signInData{Next: localPath(next), Why: r.URL.Query().Get("why"), Error: msg, CSRF: token})
}

// maxTokenLen bounds what the sign-in form reads as a token.
const maxTokenLen = 256

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.showSignIn(w, r, http.StatusBadRequest, "The form could not be read; paste the token again.")
		return
	}
	ck, err := r.Cookie(cookieSignIn)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		c.showSignIn(w, r, http.StatusForbidden, "This sign-in form expired or came from another site; it is shown again, paste the token once more.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" || len(secret) > maxTokenLen {
		c.showSignIn(w, r, http.StatusUnprocessableEntity, "Paste an API token: it starts with "+auth.TokenPrefix+" (an admin makes one with tsuna token create).")
		return
	}
	tok, err := c.store.TokenBySecretHash(r.Context(), auth.HashSecret(secret))
	if err != nil {
		if tsuna.ErrorCode(err) == tsuna.EUNAUTHORIZED {
			c.showSignIn(w, r, http.StatusUnauthorized, "This token is unknown or revoked. Check that you pasted all of it, or ask an admin for a new one.")
			return
		}
		c.log.Error("sign in", "err", err)
		c.showSignIn(w, r, http.StatusServiceUnavailable, "Signing in is unavailable right now; try again in a moment.")
		return
	}
	sessSecret, id := auth.NewSessionSecret()
	s := &auth.Session{ID: id, Token: tok.Name, Via: "token", ExpiresAt: c.now().Add(c.ttl)}
	actor := audit.Actor{Name: tok.Name, Source: audit.SourceUI, RequestID: w.Header().Get("X-Request-Id")}
	if err := c.store.CreateSession(r.Context(), s, auth.HashSecret(sessSecret), actor); err != nil {
		c.log.Error("create session", "err", err)
		c.showSignIn(w, r, http.StatusServiceUnavailable, "Signing in is unavailable right now; try again in a moment.")
		return
	}
	c.setCookie(w, r, cookieSignIn, "", -1, http.SameSiteStrictMode)
	c.setCookie(w, r, cookieSession, sessSecret, int(c.ttl/time.Second), http.SameSiteLaxMode)
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, p *Principal) {
	if _, err := c.store.RevokeSession(r.Context(), p.Session.ID, p.actor(w)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	c.setCookie(w, r, cookieSession, "", -1, http.SameSiteLaxMode)
	http.Redirect(w, r, "/signin?why="+url.QueryEscape("you signed out"), http.StatusSeeOther)
}

// revokeSession ends one of the person's sessions (any session for an
// admin).
func (c *Console) revokeSession(w http.ResponseWriter, r *http.Request, p *Principal) {
	id := r.PostForm.Get("id")
	sessions, err := c.store.Sessions(r.Context(), p.Token.Name, false)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	own := false
	for _, s := range sessions {
		own = own || s.ID == id
	}
	if !own && !p.IsAdmin() {
		c.fail(w, r, p, tsuna.Errorf(tsuna.EFORBIDDEN, "session %q is not one of yours: ending another person's session needs an admin token", id))
		return
	}
	if _, err := c.store.RevokeSession(r.Context(), id, p.actor(w)); err != nil {
		c.fail(w, r, p, err)
		return
	}
	if id == p.Session.ID {
		c.setCookie(w, r, cookieSession, "", -1, http.SameSiteLaxMode)
		http.Redirect(w, r, "/signin?why="+url.QueryEscape("you ended this session"), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done="+url.QueryEscape("Session "+id+" ended."), http.StatusSeeOther)
}

var errNotFound = errors.New("not found")
