package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// filledWorkbook fills the dashboard's template with two payments on a line of Ngân Sơn;
// badAmount, when set, replaces the second row's amount.
func filledWorkbook(t *testing.T, template []byte, prefix string, badAmount string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(template))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetList()[0]
	for i, amount := range []any{1_000_000, 2_000_000} {
		if i == 1 && badAmount != "" {
			amount = badAmount
		}
		vals := []any{"GNBV", 2024, "NSTW-SN", "DA2", "062", amount, "payment", "2024-06-20", "HTX Ngân Sơn",
			"KB-NS", "C2-02", fmt.Sprintf("%s-%d", prefix, i+1), "2024-06-20", "nhập từ Excel"}
		for j, v := range vals {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			_ = f.SetCellValue(sheet, cell, v)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadPage posts a workbook to the dashboard's import form with the session ck.
func (a *acNode) uploadPage(ck *http.Cookie, workbook []byte, origin string) *httptest.ResponseRecorder {
	a.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("workbook", "giai-ngan.xlsx")
	_, _ = fw.Write(workbook)
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/dashboard/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.AddCookie(ck)
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	return rec
}

// TestDashboardImport: an officer downloads the template from the dashboard, uploads two
// rows and sees the two events; a malformed row names its row and column and records
// nothing; a cross-site post and a leader are refused.
func TestDashboardImport(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	officer := a.signIn(bearerOf(a, "officer062"))
	leader := a.signIn(bearerOf(a, "leader06"))
	if r := a.page(officer, "/dashboard/import"); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `id="workbook"`) {
		t.Fatalf("import page: %d", r.Code)
	}
	if r := a.page(officer, "/?as_of=2024-05-31"); !strings.Contains(r.Body.String(), `id="nav-import"`) {
		t.Errorf("the officer's menu has no import link")
	}
	if r := a.page(leader, "/?as_of=2024-05-31"); strings.Contains(r.Body.String(), `id="nav-import"`) {
		t.Errorf("a leader's menu has the import link")
	}
	tpl := a.page(officer, "/dashboard/template.xlsx")
	if tpl.Code != http.StatusOK {
		t.Fatalf("template: %d", tpl.Code)
	}
	before := a.head()
	bad := a.uploadPage(officer, filledWorkbook(t, tpl.Body.Bytes(), "D", "2.000.000"), "http://example.com")
	if bad.Code != http.StatusBadRequest || !strings.Contains(bad.Body.String(), "row 3, column amount") || a.head() != before {
		t.Errorf("a malformed row: %d %.500s", bad.Code, bad.Body)
	}
	good := filledWorkbook(t, tpl.Body.Bytes(), "D", "")
	if r := a.uploadPage(officer, good, "http://evil.example"); r.Code != http.StatusForbidden || a.head() != before {
		t.Errorf("a cross-site upload: %d", r.Code)
	}
	if r := a.uploadPage(leader, good, "http://example.com"); r.Code != http.StatusForbidden || a.head() != before {
		t.Errorf("a leader's upload: %d", r.Code)
	}
	r := a.uploadPage(officer, good, "http://example.com")
	if r.Code != http.StatusCreated || a.head() != before+2 || strings.Count(r.Body.String(), "GNBV:2024:NSTW-SN:DA2:062") != 2 {
		t.Fatalf("upload: %d (head %d → %d) %.800s", r.Code, before, a.head(), r.Body)
	}
	// The same vouchers again: refused by the ledger (rule 5), named by row, nothing recorded.
	if r := a.uploadPage(officer, good, "http://example.com"); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "Dòng 2") || a.head() != before+2 {
		t.Errorf("the same workbook again: %d %.500s", r.Code, r.Body)
	}
}

// TestImportAndCommitmentsBrowser drives Chromium: an officer of Ngân Sơn opens the
// import page, uploads a workbook of two rows and sees the two events; a leader of the
// new province sees the commitments and advances panel of scenario C4.
func TestImportAndCommitmentsBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s: %v", chromiumPath, err)
	}
	a := startACNode(t, testenv.DB(t))
	srv := httptest.NewServer(a.n.handler)
	defer srv.Close()
	tpl := a.page(a.signIn(bearerOf(a, "officer062")), "/dashboard/template.xlsx")
	file := filepath.Join(t.TempDir(), "giai-ngan.xlsx")
	if err := os.WriteFile(file, filledWorkbook(t, tpl.Body.Bytes(), "B", ""), 0o644); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, dashTimeout)
	defer cancel()
	signIn := func(token string) error {
		return chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#signin")),
			chromedp.WaitVisible(chromedp.CSS("#signout")))
	}

	before := a.head()
	if err := signIn(bearerOf(a, "officer062")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#nav-import")),
		chromedp.Click(chromedp.CSS("#nav-import")), chromedp.WaitVisible(chromedp.CSS("#workbook"))); err != nil {
		t.Fatalf("open the import page: %v", err)
	}
	// The file input is set once the page has settled: a node of the page before is stale.
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("#upload")), chromedp.SetUploadFiles(chromedp.CSS("#workbook"), []string{file})); err != nil {
		t.Fatalf("choose the file: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#upload")), chromedp.WaitVisible(chromedp.CSS("#imported"))); err != nil {
		sctx, scancel := context.WithTimeout(bctx, 5*time.Second)
		defer scancel()
		shown, _ := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("upload in the browser: %v; the page shows %.500q", err, shown)
	}
	rows, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#imported tbody")))
	if err != nil {
		t.Fatal(err)
	}
	if a.head() != before+2 || strings.Count(rows, "GNBV:2024:NSTW-SN:DA2:062") != 2 || !strings.Contains(rows, "B-1") || !strings.Contains(rows, "B-2") {
		t.Errorf("after the upload: head %d → %d, rows %q", before, a.head(), rows)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token"))); err != nil {
		t.Fatal(err)
	}

	loadC4OverHTTP(t, a)
	now := time.Now()
	leader := a.createToken("Lãnh đạo tỉnh Thái Nguyên", ledger.RoleLeader, c4Province, now, now.Add(time.Hour))
	if err := signIn(leader); err != nil {
		t.Fatalf("sign in as the leader: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?program="+c4Program+"&as_of=2026-06-30&lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#commitments"))); err != nil {
		t.Fatalf("the leader's overview: %v", err)
	}
	panel, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#commitments")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Commitments and outstanding advances", "62.50%", "130", "500.00 million VND"} {
		if !strings.Contains(panel, want) {
			t.Errorf("the commitments panel lacks %q: %q", want, panel)
		}
	}
}
