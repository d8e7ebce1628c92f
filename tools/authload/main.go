// Command authload measures what a flood of bad bearer tokens from one address does to
// a valid client of the same address (docs/benchmarks.md, "Failed authentication"): in
// each run, the valid client reads -path at -rate requests/s for -secs seconds alone,
// then again while -bad requests/s with random ldg_ tokens go to the same server; it
// prints each run's p50 and p99 and the median p99 of the runs.
//
//	go run ./tools/authload -url http://127.0.0.1:8080 -token "$LEADER" -path '/v1/progress?unit=06'
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "", "server")
	token := flag.String("token", "", "valid token")
	path := flag.String("path", "/v1/head", "path the valid client reads")
	bad := flag.Int("bad", 1000, "bad-token requests per second")
	secs := flag.Int("secs", 10, "seconds per phase")
	rate := flag.Int("rate", 50, "valid requests per second")
	runs := flag.Int("runs", 3, "runs")
	flag.Parse()
	tr := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	do := func(tok string) (int, time.Duration) {
		req, _ := http.NewRequest("GET", *base+*path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, time.Since(t0)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(t0)
	}
	phase := func(withBad bool) (p50, p99 time.Duration, okN, n int, badSent, bad429, bad401 int64) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var sent, s429, s401 atomic.Int64
		if withBad {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(10 * time.Millisecond) // bursts of bad/100 every 10 ms
				defer tick.Stop()
				sem := make(chan struct{}, 256)
				for i := 0; ; i++ {
					if i%(*bad/100) == 0 {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
					}
					select {
					case sem <- struct{}{}:
					default:
						continue // the server is slower than the target rate: drop, as a flood would not wait
					}
					go func() {
						defer func() { <-sem }()
						b := make([]byte, 32)
						_, _ = rand.Read(b)
						code, _ := do("ldg_" + hex.EncodeToString(b)[:43])
						sent.Add(1)
						switch code {
						case 429:
							s429.Add(1)
						case 401:
							s401.Add(1)
						}
					}()
				}
			}()
			time.Sleep(time.Second) // the flood is under way
		}
		var lat []time.Duration
		end := time.Now().Add(time.Duration(*secs) * time.Second)
		tick := time.NewTicker(time.Second / time.Duration(*rate))
		for time.Now().Before(end) {
			<-tick.C
			code, d := do(*token)
			lat = append(lat, d)
			if code == 200 {
				okN++
			}
		}
		tick.Stop()
		close(stop)
		wg.Wait()
		slices.Sort(lat)
		return lat[len(lat)/2], lat[len(lat)*99/100], okN, len(lat), sent.Load(), s429.Load(), s401.Load()
	}
	var base99, bad99 []time.Duration
	for r := range *runs {
		p50a, p99a, oka, na, _, _, _ := phase(false)
		p50b, p99b, okb, nb, sent, s429, s401 := phase(true)
		fmt.Printf("run %d: without bad load p50 %v p99 %v (%d/%d ok); with %d bad req/s p50 %v p99 %v (%d/%d ok); bad requests sent %d (%.0f/s): %d×429, %d×401\n",
			r+1, p50a, p99a, oka, na, *bad, p50b, p99b, okb, nb, sent, float64(sent)/float64(*secs+1), s429, s401)
		base99 = append(base99, p99a)
		bad99 = append(bad99, p99b)
	}
	slices.Sort(base99)
	slices.Sort(bad99)
	fmt.Printf("median of %d runs: valid client's p99 %v without, %v with %d bad-token requests/s from the same address\n",
		*runs, base99[len(base99)/2], bad99[len(bad99)/2], *bad)
}
