package audit

import (
	"encoding/json"
	"testing"
	"time"
)

func chain(n int) []Record {
	var out []Record
	var prev *Record
	a := Actor{Name: "ci", Source: SourceAPI, RequestID: "r"}
	for i := range n {
		r := a.Record(time.Date(2026, 1, 1, 0, 0, i, 123456789, time.UTC), "update", "Service", "s", json.RawMessage(`{"a":1}`), nil)
		Seal(r, prev, nil)
		out = append(out, *r)
		prev = r
	}
	return out
}

func verify(recs []Record) *Break {
	var v Verifier
	for i := range recs {
		if b := v.Check(&recs[i]); b != nil {
			return b
		}
	}
	return nil
}

func TestChain(t *testing.T) {
	recs := chain(5)
	if recs[0].PrevHash != Genesis || recs[1].PrevHash != recs[0].Hash || recs[4].Seq != 5 {
		t.Fatal("records are not chained")
	}
	if recs[0].Time.Nanosecond() != 123456000 {
		t.Fatalf("time not truncated to microseconds: %v", recs[0].Time)
	}
	if b := verify(recs); b != nil {
		t.Fatalf("intact chain broken: %+v", b)
	}
	for name, tamper := range map[string]func([]Record) []Record{
		"actor":  func(r []Record) []Record { r[2].Actor = "mallory"; return r },
		"after":  func(r []Record) []Record { r[2].After = json.RawMessage(`{"b":2}`); return r },
		"time":   func(r []Record) []Record { r[2].Time = r[2].Time.Add(time.Microsecond); return r },
		"delete": func(r []Record) []Record { return append(r[:2:2], r[3:]...) },
		"rehash": func(r []Record) []Record { r[2].Actor = "m"; r[2].Hash = ComputeHash(&r[2]); return r },
	} {
		b := verify(tamper(chain(5)))
		want := int64(3)
		if name == "delete" || name == "rehash" {
			want = 4 // the gap, or the next record's link, gives it away
		}
		if b == nil || b.Seq != want {
			t.Errorf("%s: break = %+v, want at seq %d", name, b, want)
		}
	}
}
