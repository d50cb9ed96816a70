package scheduler

import "container/heap"

// host is the state of one Job.Key: its runs in flight and its queue of
// runs waiting for a slot, oldest first. The queue holds at most one run
// per check (see admit), so it is bounded by the number of checks, and
// waiting runs are entries, not goroutines.
type host struct {
	key      string
	jobs     int // entries with this key
	inFlight int
	fifo     []*entry
	head     int
	index    int // in Scheduler.ready; -1 when not there
}

func (h *host) push(e *entry) { h.fifo = append(h.fifo, e) }

// trim drops removed entries from the head of the queue.
func (h *host) trim() {
	for h.head < len(h.fifo) && h.fifo[h.head].state == gone {
		h.fifo[h.head] = nil
		h.head++
	}
	if h.head == len(h.fifo) {
		h.fifo, h.head = h.fifo[:0], 0
	} else if h.head > 64 && h.head > len(h.fifo)/2 {
		n := copy(h.fifo, h.fifo[h.head:])
		clear(h.fifo[n:])
		h.fifo, h.head = h.fifo[:n], 0
	}
}

// pop takes the oldest waiting run; the host is in ready, so there is one.
func (h *host) pop() *entry {
	e := h.fifo[h.head]
	h.fifo[h.head] = nil
	h.head++
	h.trim()
	return e
}

func (h *host) queued() int { return len(h.fifo) - h.head }

// hostOf returns the host of key, creating it. Callers hold mu.
func (s *Scheduler) hostOf(key string) *host {
	h, ok := s.hosts[key]
	if !ok {
		h = &host{key: key, index: -1}
		s.hosts[key] = h
	}
	return h
}

// dropHost forgets a host nothing refers to any more. Callers hold mu.
func (s *Scheduler) dropHost(h *host) {
	if h.jobs == 0 && h.inFlight == 0 && h.queued() == 0 && s.hosts[h.key] == h {
		if h.index >= 0 {
			heap.Remove(&s.ready, h.index)
		}
		delete(s.hosts, h.key)
	}
}

// fixReady puts h into the ready heap when it has a waiting run and a free
// host slot, and takes it out otherwise. Callers hold mu.
func (s *Scheduler) fixReady(h *host) {
	h.trim()
	free := h.key == "" || s.hostLimit == 0 || h.inFlight < s.hostLimit
	switch ok := free && h.queued() > 0; {
	case ok && h.index < 0:
		heap.Push(&s.ready, h)
	case ok:
		heap.Fix(&s.ready, h.index)
	case h.index >= 0:
		heap.Remove(&s.ready, h.index)
	}
}

// hostQueue is a min-heap of hosts by the due time of their oldest waiting
// run: free global slots go to the run that has waited longest, among the
// hosts that have a slot free.
type hostQueue []*host

func (q hostQueue) Len() int { return len(q) }
func (q hostQueue) Less(i, j int) bool {
	return q[i].fifo[q[i].head].runDue.Before(q[j].fifo[q[j].head].runDue)
}
func (q hostQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *hostQueue) Push(x any) {
	h := x.(*host)
	h.index = len(*q)
	*q = append(*q, h)
}
func (q *hostQueue) Pop() any {
	old := *q
	h := old[len(old)-1]
	old[len(old)-1] = nil
	h.index = -1
	*q = old[:len(old)-1]
	return h
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
