package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestHistoryAtPosition reads lines and events as the ledger knew them at an earlier
// position (at, known_at), and a line's events with running balances.
func TestHistoryAtPosition(t *testing.T) {
	s := startServer(t, testenv.DB(t))
	lines := setupLines(t, s.url, 1, 10_000)
	lineID := fmt.Sprintf("GNBV:2024:NSTW-DTPT:DA1:%s", lines[0]["unit"])
	pay := func(n, amount int) map[string]any {
		status, out, err := post(s.url+"/v1/disbursements", "", map[string]any{"line": lines[0], "amount": amount,
			"kind": "payment", "effective_date": "2024-03-01", "payee": "Nhà thầu",
			"voucher": map[string]any{"office": "KB01", "type": "C2-02a", "number": fmt.Sprintf("h-%d", n), "date": "2024-03-01"}})
		if err != nil || status != http.StatusCreated {
			t.Fatalf("disburse: %d %v %v", status, out, err)
		}
		return out
	}
	first := pay(1, 1000)
	second := pay(2, 2000)
	at := int64(first["position"].(float64))

	var line struct{ Disbursed, Available int64 }
	mustJSON(t, get(t, s.url+"/v1/lines/"+lineID+"?at="+fmt.Sprint(at)), &line)
	if line.Disbursed != 1000 || line.Available != 9000 {
		t.Errorf("line at %d: %+v; want disbursed 1000, available 9000", at, line)
	}
	mustJSON(t, get(t, s.url+"/v1/lines/"+lineID+"?known_at="+url.QueryEscape(first["recorded_at"].(string))), &line)
	if line.Disbursed != 1000 {
		t.Errorf("line known at the first payment's time: %+v", line)
	}
	mustJSON(t, get(t, s.url+"/v1/lines/"+lineID), &line)
	if line.Disbursed != 3000 || line.Available != 7000 {
		t.Errorf("line at the head: %+v; want disbursed 3000, available 7000", line)
	}
	var list struct {
		Lines []struct {
			ID        string `json:"id"`
			Disbursed int64  `json:"disbursed"`
		} `json:"lines"`
	}
	mustJSON(t, get(t, s.url+"/v1/lines?at="+fmt.Sprint(at)), &list)
	if len(list.Lines) != 1 || list.Lines[0].Disbursed != 1000 {
		t.Errorf("lines at %d: %+v", at, list)
	}

	var page struct {
		Events []struct {
			Position int64 `json:"position"`
		} `json:"events"`
		Balances []struct {
			Position                      int64
			Plan, NetDisbursed, Available int64
		} `json:"balances"`
	}
	mustJSON(t, get(t, s.url+"/v1/lines/"+lineID+"/events"), &page)
	if len(page.Events) != 3 || len(page.Balances) != 3 {
		t.Fatalf("line events: %+v", page)
	}
	for i, want := range []int64{10_000, 9000, 7000} {
		if b := page.Balances[i]; b.Position != page.Events[i].Position || b.Available != want {
			t.Errorf("running balance %d: %+v; want available %d at position %d", i, b, want, page.Events[i].Position)
		}
	}
	mustJSON(t, get(t, s.url+"/v1/lines/"+lineID+"/events?at="+fmt.Sprint(at)), &page)
	if len(page.Events) != 2 {
		t.Errorf("line events at %d: %d events, want 2", at, len(page.Events))
	}
	mustJSON(t, get(t, s.url+"/v1/events?limit=1000&at="+fmt.Sprint(at)), &page)
	if n := len(page.Events); n == 0 || page.Events[n-1].Position != at {
		t.Errorf("events at %d end at %+v", at, page.Events)
	}

	resp, err := getAuth(s.url + "/v1/events/" + second["id"].(string) + "?at=" + fmt.Sprint(at))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an event recorded after at: %d, want 404", resp.StatusCode)
	}
	resp, err = getAuth(s.url + "/v1/lines/" + lineID + "?at=999999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("at beyond the head: %d, want 400", resp.StatusCode)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}
