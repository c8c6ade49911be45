package alerting

import (
	"context"
	"errors"
	"sync"
)

// Receiver stores routed notifications. Concurrent calls share one
// transaction (group commit): one commit, one fsync, for all of them. Each
// call returns only after the commit of its batch, so nothing is
// acknowledged before it is stored.
type Receiver struct {
	store    Store
	catalog  Catalog
	fallback string

	in      chan pending
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when run returns
	once    sync.Once
}

type pending struct {
	ctx  context.Context
	n    Notification
	done chan result
}

type result struct {
	created bool
	err     error
}

// maxBatch bounds one transaction.
const maxBatch = 256

// ErrClosed is returned by Receive after Close.
var ErrClosed = errors.New("alert receiver closed")

// NewReceiver returns a Receiver that routes with cat (alerts nobody
// claims go to fallback) and stores in s. Close stops it.
func NewReceiver(s Store, cat Catalog, fallback string) *Receiver {
	r := &Receiver{store: s, catalog: cat, fallback: fallback, in: make(chan pending, maxBatch),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go r.run()
	return r
}

// Received is what became of a notification.
type Received struct {
	Created bool  // false for a replay
	Route   Route // where it goes
}

// Receive routes p, builds its chat message, and stores both; it returns
// once they are committed.
func (r *Receiver) Receive(ctx context.Context, p *Payload) (Received, error) {
	route := RouteOf(p, CatalogDirectory{Ctx: ctx, Catalog: r.catalog}, r.fallback)
	msg := Message(p, route)
	created, err := r.record(ctx, Notification{Payload: p, Route: route, Message: &msg})
	return Received{Created: created, Route: route}, err
}

func (r *Receiver) record(ctx context.Context, n Notification) (bool, error) {
	p := pending{ctx: ctx, n: n, done: make(chan result, 1)}
	select {
	case r.in <- p:
	case <-r.done:
		return false, ErrClosed
	case <-ctx.Done():
		return false, ctx.Err()
	}
	res := <-p.done // the batch always answers: the request must not answer first
	return res.created, res.err
}

// Close stops the receiver after the batch in flight, which it waits for;
// later calls get ErrClosed.
func (r *Receiver) Close() {
	r.once.Do(func() { close(r.done) })
	<-r.stopped
}

func (r *Receiver) run() {
	defer close(r.stopped)
	for {
		var first pending
		select {
		case first = <-r.in:
		case <-r.done:
			// Answer whatever was queued before the close.
			for {
				select {
				case p := <-r.in:
					p.done <- result{err: ErrClosed}
				default:
					return
				}
			}
		}
		batch := []pending{first}
	gather: // take what is already waiting; never wait for more
		for len(batch) < maxBatch {
			select {
			case p := <-r.in:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		ns := make([]Notification, len(batch))
		for i, p := range batch {
			ns[i] = p.n
		}
		ctx := context.WithoutCancel(first.ctx)
		created, err := r.store.RecordNotifications(ctx, ns)
		if err != nil && len(batch) > 1 {
			// One bad notification must not fail its neighbours: store each
			// alone, so only the bad one answers an error.
			for i, p := range batch {
				c, err := r.store.RecordNotifications(ctx, ns[i:i+1])
				if err != nil {
					p.done <- result{err: err}
				} else {
					p.done <- result{created: c[0]}
				}
			}
			continue
		}
		for i, p := range batch {
			if err != nil {
				p.done <- result{err: err}
			} else {
				p.done <- result{created: created[i]}
			}
		}
	}
}
