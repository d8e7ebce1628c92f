package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/report"
)

// Officers' Excel entry on the dashboard: the disbursement template to download, and an
// upload form that records its rows as one atomic request (all or nothing), showing the
// events recorded, or the row and column at fault and nothing recorded.

const (
	dashImportPath   = "/dashboard/import"
	dashTemplatePath = "/dashboard/template.xlsx"
	// importBodyMaxBytes bounds the upload: the workbook and the form's small fields.
	importBodyMaxBytes = report.StatementBytesMax + 64<<10
)

// importView is the import page: the events recorded by the upload, if any.
type importView struct {
	Rows []importedRow
}

type importedRow struct {
	Row, Position, Line, Amount, Kind, Voucher, Date string
}

// canImport reports whether pr may record through the dashboard: an officer, on a
// server that writes.
func (s *Server) canImport(pr *ledger.Principal) bool {
	return s.cfg.Submit != nil && pr != nil && pr.Role == ledger.RoleOfficer
}

func (s *Server) handleImportForm(c echo.Context) error {
	pr, st, err := s.dashRequest(c)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	if !s.canImport(pr) {
		return s.dashError(c, errForbidden("", "only an officer records disbursements"), st.Lang)
	}
	w := wordsOf(st.Lang)
	p := s.newPage(pr, st, dashImportPath, w.Import)
	p.ImportV, p.Live = &importView{}, false
	return s.renderPage(c, http.StatusOK, "import", p)
}

func (s *Server) handleTemplate(c echo.Context) error {
	pr, err := s.dashboardAuth(c)
	if err != nil {
		return s.dashError(c, err, dashLang(c.QueryParam("lang")))
	}
	if !s.canImport(pr) {
		return s.dashError(c, errForbidden("", "only an officer records disbursements"), dashLang(c.QueryParam("lang")))
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="giai-ngan.xlsx"`)
	res.Header().Set("Cache-Control", "no-store")
	var buf bytes.Buffer
	if err := report.WriteDisbursementTemplate(&buf); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, res.Header().Get(echo.HeaderContentType), buf.Bytes())
}

// handleImport serves POST /dashboard/import (no query: the API refuses query parameters
// on writes; the language comes in the form).
func (s *Server) handleImport(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return errForbidden("Origin", "the upload form must be posted from this server's own pages")
	}
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, importBodyMaxBytes)
	formErr := r.ParseMultipartForm(1 << 20)
	if formErr == nil {
		defer r.MultipartForm.RemoveAll()
	}
	lang := dashLang(r.FormValue("lang"))
	pr, st, err := s.dashRequest(c)
	st.Lang = lang
	if err != nil {
		return s.dashError(c, err, lang)
	}
	if !s.canImport(pr) {
		return s.dashError(c, errForbidden("", "only an officer records disbursements"), lang)
	}
	w := wordsOf(lang)
	p := s.newPage(pr, st, dashImportPath, w.Import)
	p.ImportV, p.Live = &importView{}, false
	refuse := func(status int, msg string) error {
		p.Message = msg
		return s.renderPage(c, status, "import", p)
	}
	if formErr != nil {
		return refuse(http.StatusBadRequest, w.ImportBadForm)
	}
	f, _, err := r.FormFile("workbook")
	if err != nil {
		return refuse(http.StatusBadRequest, w.ImportBadForm)
	}
	data, err := io.ReadAll(io.LimitReader(f, report.StatementBytesMax+1))
	f.Close()
	if err != nil {
		return refuse(http.StatusBadRequest, w.ImportBadForm)
	}
	cmds, rows, err := report.ParseDisbursements(data)
	if err != nil {
		return refuse(http.StatusBadRequest, w.ImportRefused+" "+err.Error())
	}
	if len(cmds) == 0 {
		return refuse(http.StatusBadRequest, w.ImportEmpty)
	}
	req := &ledger.Request{Atomic: true, Principal: pr,
		Meta: ledger.Metadata{Actor: pr.Actor(), Client: "dashboard import", RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}}
	for _, cmd := range cmds {
		req.Commands = append(req.Commands, cmd)
	}
	ctx, cancel := context.WithTimeout(r.Context(), importSubmitTimeout)
	defer cancel()
	res, err := s.cfg.Submit(ctx, req)
	if err != nil {
		return refuse(http.StatusServiceUnavailable, w.ImportUnknown)
	}
	if res.Err != nil {
		status, msg := s.cfg.API.Problem(res.Err)
		if i, ok := commandIndex(res.Err); ok && i < len(rows) {
			msg = fmt.Sprintf("%s %d: %s", w.Row, rows[i], msg)
		}
		if status == http.StatusInternalServerError {
			s.log.Error("dashboard import", "err", res.Err)
		}
		return refuse(status, w.ImportRefused+" "+msg)
	}
	for i, e := range res.Events {
		d := &e.Data
		p.ImportV.Rows = append(p.ImportV.Rows, importedRow{Row: strconv.Itoa(rows[i]), Position: strconv.FormatInt(e.Position, 10),
			Line: d.Line.ID(), Amount: report.FormatDong(d.Amount, st.Lang), Kind: d.Kind,
			Voucher: d.Voucher.Office + " " + d.Voucher.Type + " " + d.Voucher.Number, Date: report.FormatDate(e.EffectiveDate, st.Lang)})
	}
	p.Message = w.ImportDone
	p.Position = res.Events[len(res.Events)-1].Position
	return s.renderPage(c, http.StatusCreated, "import", p)
}

// importSubmitTimeout bounds the wait for the writer to record an upload.
const importSubmitTimeout = 30 * time.Second

// commandIndex reads the index of the refused command from the error's field, which
// the sequencer prefixes with "commands[i]".
func commandIndex(err error) (int, bool) {
	var i int
	if _, serr := fmt.Sscanf(ledger.Field(err), "commands[%d]", &i); serr != nil {
		return 0, false
	}
	return i, true
}
