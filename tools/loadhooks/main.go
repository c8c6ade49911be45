// Command loadhooks sends Alertmanager webhooks to tsuna from concurrent
// senders and reports throughput and acknowledgement latency. It only
// targets the loopback interface, and stops after -count webhooks or
// -max-time, whichever comes first.
//
//	go run ./tools/loadhooks -url http://127.0.0.1:8080/hooks/alertmanager -token SECRET
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/hooks/alertmanager", "tsuna's webhook (loopback only)")
	token := flag.String("token", os.Getenv("TSUNA_ALERTMANAGER_TOKEN"), "webhook bearer secret")
	senders := flag.Int("senders", 50, "concurrent senders")
	count := flag.Int("count", 20000, "webhooks to send in all")
	maxTime := flag.Duration("max-time", time.Minute, "stop sending after this long")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || !loopback(u.Hostname()) {
		fmt.Fprintln(os.Stderr, "loadhooks: -url must be on 127.0.0.1, ::1 or localhost")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *senders}}
	var next, acked, failed atomic.Int64
	lat := make([][]time.Duration, *senders)
	deadline := time.Now().Add(*maxTime)
	start := time.Now()
	var wg sync.WaitGroup
	for s := range *senders {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				body := payload(i)
				req, _ := http.NewRequest("POST", *target, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked.Add(1)
					lat[s] = append(lat[s], time.Since(t0))
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	fmt.Printf("sent=%d acked=%d failed=%d senders=%d elapsed=%.2fs rate=%.0f/s p50=%s p99=%s max=%s\n",
		acked.Load()+failed.Load(), acked.Load(), failed.Load(), *senders, elapsed.Seconds(),
		float64(acked.Load())/elapsed.Seconds(), q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), q(1).Round(10*time.Microsecond))
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// payload is a firing notification of its own alert group, so each is stored.
func payload(i int64) []byte {
	return []byte(alertingtest.Webhook("firing", "checkout-api", fmt.Sprintf("Load%d", i)))
}
