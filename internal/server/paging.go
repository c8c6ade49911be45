package server

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"

	"github.com/tsuna-sre/tsuna"
)

// Every list endpoint is paged: ?limit=N (1 to maxLimit, default
// defaultLimit) and ?cursor=C, the opaque "next" of the page before. A
// response is bounded whatever the size of the data.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// page is a request for one page.
type page struct {
	limit  int
	cursor string // decoded: a name to list after, or an offset
}

// parsePage reads limit and cursor.
func parsePage(q url.Values) (page, error) {
	p := page{limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := parseInt("limit", v, 1, maxLimit)
		if err != nil {
			return p, err
		}
		p.limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) > 1024 {
			return p, tsuna.Errorf(tsuna.EINVALID, "cursor: %.40q is not a cursor; pass the \"next\" of the previous page as it came", v)
		}
		p.cursor = string(b)
	}
	return p, nil
}

// offset reads the cursor as an offset.
func (p page) offset() (int, error) {
	if p.cursor == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(p.cursor)
	if err != nil || n < 0 {
		return 0, tsuna.Errorf(tsuna.EINVALID, "cursor: not a cursor of this list; pass the \"next\" of the previous page as it came")
	}
	return n, nil
}

// cursorOf encodes s as a cursor.
func cursorOf(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// pageByName returns the items of list (sorted by name) after the cursor,
// at most p.limit, and the next cursor ("" on the last page).
func pageByName[T any](list []T, p page, name func(T) string) ([]T, string) {
	i, _ := slices.BinarySearchFunc(list, p.cursor, func(t T, c string) int {
		if name(t) <= c {
			return -1
		}
		return 1
	})
	list = list[i:]
	if len(list) <= p.limit {
		return list, ""
	}
	return list[:p.limit], cursorOf(name(list[p.limit-1]))
}
