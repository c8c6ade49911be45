package server

import (
	"context"

	"github.com/tsuna-sre/tsuna/internal/store"
)

// batchStore stores many notifications in one transaction.
type batchStore interface {
	RecordNotifications(ctx context.Context, ns []store.Notification) ([]bool, error)
}

// committer groups the notifications of concurrent webhook requests into
// one transaction: one commit, one fsync, for all of them. Each request
// waits for the commit of its batch before it answers, so nothing is
// acknowledged before it is stored.
type committer struct {
	store batchStore
	in    chan pending
}

type pending struct {
	ctx  context.Context
	n    store.Notification
	done chan result
}

type result struct {
	created bool
	err     error
}

// maxBatch bounds one transaction.
const maxBatch = 256

func newCommitter(s batchStore) *committer {
	c := &committer{store: s, in: make(chan pending, maxBatch)}
	go c.run()
	return c
}

// record stores n and returns once it is committed.
func (c *committer) record(ctx context.Context, n store.Notification) (bool, error) {
	p := pending{ctx: ctx, n: n, done: make(chan result, 1)}
	select {
	case c.in <- p:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	r := <-p.done // the batch always answers: the request must not answer first
	return r.created, r.err
}

func (c *committer) run() {
	for first := range c.in {
		batch := []pending{first}
	gather: // take what is already waiting; never wait for more
		for len(batch) < maxBatch {
			select {
			case p := <-c.in:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		ns := make([]store.Notification, len(batch))
		for i, p := range batch {
			ns[i] = p.n
		}
		created, err := c.store.RecordNotifications(context.WithoutCancel(first.ctx), ns)
		for i, p := range batch {
			if err != nil {
				p.done <- result{err: err}
			} else {
				p.done <- result{created: created[i]}
			}
		}
	}
}
