package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/report"
)

// Sign-in of the dashboard. A browser cannot send a bearer header on a page load, so the
// token a user pastes into the sign-in form is kept in a cookie that only this server
// reads: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it,
// which with the Origin check on every POST is the CSRF defence), Path=/, and Secure
// whenever the request came over TLS. Production must serve the dashboard over TLS:
// without it the cookie, like a bearer header, crosses the network in clear. The token
// is never put in a URL and never logged.
const (
	// sessionCookie is the name of the cookie holding the access token.
	sessionCookie = "ledger_session"
	// sessionMaxAge bounds the cookie's life; the token's own expiry and revocation still
	// apply to every request.
	sessionMaxAge = 12 * time.Hour
	// signinBodyMaxBytes bounds the sign-in form: one token and a language.
	signinBodyMaxBytes = 4 << 10
)

// errNotSignedIn sends the browser to the sign-in page.
var errNotSignedIn = errors.New("not signed in")

// dashboardAuth authenticates a dashboard request by its session cookie, with the API's
// tokens and rate limits (API.Authenticate), and stores the principal for the error
// page. The routes are public to the API's bearer middleware, which cannot read a
// cookie; every dashboard handler that shows data calls this first.
func (s *Server) dashboardAuth(c echo.Context) (*ledger.Principal, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errNotSignedIn
	}
	p, err := s.cfg.API.Authenticate(c, ck.Value)
	if ledger.Code(err) == ledger.CodeUnauthenticated {
		return nil, errNotSignedIn
	}
	if err != nil {
		return nil, err
	}
	c.Set(principalKey, p)
	return p, nil
}

// sameOrigin is the CSRF check of the dashboard's POST routes, on top of SameSite=Strict:
// the browser's Origin header must name this server. Only the host is compared, so that
// a TLS-terminating proxy in front does not break it. A browser sends "Origin: null"
// instead when the page's referrer policy is no-referrer (the API's default); the
// dashboard pages use same-origin so that it does not, and for a browser that still
// sends null, Sec-Fetch-Site (which no script can set) must say same-origin. A POST
// with neither is refused.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Values("Origin")
	if len(o) > 1 {
		return false
	}
	if len(o) == 0 || o[0] == "null" {
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o[0])
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// setSession sets (value non-empty) or clears the session cookie.
func setSession(c echo.Context, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Request().TLS != nil,
	}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(maxAge / time.Second)
	}
	c.SetCookie(ck)
}

// handleSigninForm serves GET /signin.
func (s *Server) handleSigninForm(c echo.Context) error {
	lang := dashLang(c.QueryParam("lang"))
	return s.renderPage(c, http.StatusOK, "signin", &page{W: wordsOf(lang), Lang: lang, Title: wordsOf(lang).SignIn,
		Path: signinPath, state: dashState{Lang: lang}})
}

// handleSignin serves POST /signin: a form with token (and lang). A good token sets the
// cookie and sends the browser to the overview; a bad one shows the form again, 401.
func (s *Server) handleSignin(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		// A refused cross-site post is no user's mistake: the API's problem answer is enough.
		return errForbidden("Origin", "the sign-in form must be posted from this server's own pages")
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, signinBodyMaxBytes)
	if err := c.Request().ParseForm(); err != nil {
		return s.dashError(c, invalidArg("", "the sign-in form is malformed or too large"), report.LangVI)
	}
	form := c.Request().PostForm
	lang := dashLang(form.Get("lang"))
	w := wordsOf(lang)
	token := strings.TrimSpace(form.Get("token"))
	fail := func() error {
		return s.renderPage(c, http.StatusUnauthorized, "signin", &page{W: w, Lang: lang, Title: w.SignIn,
			Message: w.BadToken, Path: signinPath, state: dashState{Lang: lang}})
	}
	_, err := s.cfg.API.Authenticate(c, token)
	switch {
	case ledger.Code(err) == ledger.CodeUnauthenticated:
		return fail()
	case err != nil:
		return s.dashError(c, err, lang)
	}
	setSession(c, token, sessionMaxAge)
	return c.Redirect(http.StatusSeeOther, "/"+dashState{Lang: lang}.query())
}

// handleSignout serves POST /signout: it clears the cookie. The token itself stays valid
// until it expires or an admin revokes it; signing out forgets it in this browser.
func (s *Server) handleSignout(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return errForbidden("Origin", "the sign-out form must be posted from this server's own pages")
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, signinBodyMaxBytes)
	lang := report.LangVI
	if err := c.Request().ParseForm(); err == nil {
		lang = dashLang(c.Request().PostForm.Get("lang"))
	}
	setSession(c, "", 0)
	return c.Redirect(http.StatusSeeOther, "/signin"+dashState{Lang: lang}.query())
}

// dashLang is the language of a ?lang= value: report.LangEN or, for anything else, report.LangVI.
func dashLang(v string) report.Lang {
	if l, ok := report.ParseLang(v); ok {
		return l
	}
	return report.LangVI
}
