// Package dashboard is the leaders' dashboard: HTML pages rendered from the progress
// projection and the balances, with their CSS and a small script embedded in the binary
// (no build step, no chart library), in Vietnamese and English. Bars and charts are SVG
// drawn by Go, so the pages work without script, print, and stay within the API's
// Content-Security-Policy (no inline script or style). A browser signs in with an access
// token kept in a session cookie; every page shows only the reader's unit subtree, and
// an event stream tells an open page when the ledger's head moves.
//
// The dashboard is served beside the JSON API, on the same server and middleware
// (api.Server.Mount), but does not import it: what it needs of the API server — token
// authentication with its rate limits, and how an error is shown — comes through the
// small API interface declared here.
package dashboard
