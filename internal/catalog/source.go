package catalog

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"
)

// sourceLines finds the text of a line on demand; most files need none.
// It indexes every lineStride-th line, so the index stays small whatever
// the number of lines.
type sourceLines struct {
	once  sync.Once
	data  []byte
	start []int // offset of lines 1, 1+lineStride, 1+2*lineStride, ...
}

const lineStride = 64

// line returns line n (from 1) without its end of line, or nil.
func (s *sourceLines) line(n int) []byte {
	s.once.Do(func() {
		s.start = append(s.start, 0)
		for i, k := 0, 1; ; k++ {
			j := bytes.IndexByte(s.data[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			if k%lineStride == 0 {
				s.start = append(s.start, i)
			}
		}
	})
	if n < 1 || (n-1)/lineStride >= len(s.start) {
		return nil
	}
	off := s.start[(n-1)/lineStride]
	for range (n - 1) % lineStride {
		j := bytes.IndexByte(s.data[off:], '\n')
		if j < 0 {
			return nil
		}
		off += j + 1
	}
	line := s.data[off:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return bytes.TrimSuffix(line, []byte("\r"))
}

// excerpt returns the text of line n around column col; see excerpt.
func (s *sourceLines) excerpt(n, col int) string {
	return excerpt(s.line(n), col)
}

// fill sets the Source of each diagnostic of ds, all of this file.
func (s *sourceLines) fill(ds Diagnostics) {
	for i := range ds {
		ds[i].Source = s.excerpt(ds[i].Line, ds[i].Column)
	}
}

// excerptBefore is how many characters an excerpt shows before its column.
const excerptBefore = MaxSourceExcerpt / 2

// excerpt returns line, or at most MaxSourceExcerpt characters of it
// around column col (from 1), marked with "…" where cut. When col is past
// excerptBefore characters, the excerpt starts with "…" followed by the
// excerptBefore characters before col, so WriteText knows where to put the
// caret.
func excerpt(line []byte, col int) string {
	if col-1 <= excerptBefore && utf8.RuneCount(line[:min(len(line), MaxSourceExcerpt*utf8.UTFMax+1)]) <= MaxSourceExcerpt {
		return string(line)
	}
	start := 0
	first := max(col-1-excerptBefore, 0)
	for k := 0; k < first && start < len(line); k++ {
		_, size := utf8.DecodeRune(line[start:])
		start += size
	}
	end := start
	for k := 0; k < MaxSourceExcerpt && end < len(line); k++ {
		_, size := utf8.DecodeRune(line[end:])
		end += size
	}
	var b strings.Builder
	if first > 0 {
		b.WriteString("…")
	}
	b.Write(line[start:end])
	if end < len(line) {
		b.WriteString("…")
	}
	return b.String()
}
