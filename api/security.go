package api

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Browser-facing response headers, set on every answer (errors included): the API and
// the dashboard are served from one origin and are never framed, sniffed or referred.
var secureHeaders = [][2]string{
	{"Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
	{"X-Frame-Options", "DENY"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
}

// secureHeaderValues are secureHeaders as a header map, built once: every answer shares
// its value slices, which net/http only reads (a handler's Set replaces a slice and an
// Add appends to a full one, so neither touches the shared arrays).
var secureHeaderValues = func() http.Header {
	h := http.Header{}
	for _, kv := range secureHeaders {
		h.Set(kv[0], kv[1])
	}
	return h
}()

// noStore is the Cache-Control value of /v1 answers, shared likewise.
var noStore = []string{"no-store"}

// tokenParamNames are query parameters through which clients commonly pass credentials.
// They are refused by name, so that a token never gets accepted from, or silently
// ignored in, a URL that proxies, logs and browser histories keep.
var tokenParamNames = []string{"access_token", "token", "api_key", "apikey", "bearer", "auth", "authorization"}

// secureHeadersMiddleware sets secureHeaders, and Cache-Control: no-store on /v1
// answers, which carry data a token was needed to see.
func secureHeadersMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		for k, v := range secureHeaderValues {
			h[k] = v[:1:1]
		}
		if strings.HasPrefix(c.Request().URL.Path, "/v1/") {
			h["Cache-Control"] = noStore[:1:1]
		}
		return next(c)
	}
}

// hygieneMiddleware refuses requests whose form is wrong before anyone looks at their
// meaning: a query string that does not parse or carries control characters, a token in
// the URL, a body on a method that takes none, a query on a write, more than one
// Content-Type, or a compressed body. Such requests are mistakes or smuggling attempts.
func hygieneMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		q, err := parseQuery(r.URL.RawQuery)
		if err != nil {
			return invalidArg("query", "the query string is malformed (a bad %-escape or a ';')")
		}
		for name, vals := range q {
			if !cleanText(name) {
				return invalidArg("query", "a query parameter name holds control characters or invalid UTF-8")
			}
			for _, n := range tokenParamNames {
				if strings.EqualFold(name, n) {
					return invalidArg(name, "access tokens are accepted only in the Authorization header, never in the URL")
				}
			}
			for _, v := range vals {
				if !cleanText(v) {
					return invalidArg(name, "holds control characters or invalid UTF-8")
				}
				if looksLikeToken(v) {
					return invalidArg(name, "access tokens are accepted only in the Authorization header, never in the URL")
				}
			}
		}
		if looksLikeToken(r.URL.Path) || strings.Contains(r.URL.Path, "/ldg_") {
			return invalidArg("path", "access tokens are accepted only in the Authorization header, never in the URL")
		}
		hasBody := r.ContentLength > 0 || len(r.TransferEncoding) > 0
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
			if hasBody {
				return invalidArg("", r.Method+" takes no request body")
			}
		case http.MethodPost:
			if r.URL.RawQuery != "" {
				return invalidArg("query", "writes take no query parameters: everything goes in the body")
			}
			if len(r.Header.Values(echo.HeaderContentType)) > 1 {
				return &statusError{http.StatusUnsupportedMediaType, "Content-Type must be given once"}
			}
			if ce := r.Header.Values(echo.HeaderContentEncoding); len(ce) > 0 && !(len(ce) == 1 && strings.EqualFold(ce[0], "identity")) {
				return &statusError{http.StatusUnsupportedMediaType, "compressed request bodies are not accepted"}
			}
		}
		return next(c)
	}
}

// parseQuery is url.ParseQuery without its map for the empty query of every write.
func parseQuery(raw string) (url.Values, error) {
	if raw == "" {
		return nil, nil
	}
	return url.ParseQuery(raw)
}

// cleanText reports whether s is valid UTF-8 without control characters.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// looksLikeToken reports whether s is, or starts like, an access token.
func looksLikeToken(s string) bool {
	return strings.HasPrefix(s, "ldg_") || len(s) > 7 && strings.EqualFold(s[:7], "bearer ")
}
