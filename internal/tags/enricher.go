package tags

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/naming"
	"github.com/cwstream/cwstream/internal/sample"
)

// Label names of an info series besides the dimensions and tags; account_id
// and region are the ones every cwstream series carries.
const (
	LabelResource = "name" // the resource's ARN, as in YACE
	labelAccount  = "account_id"
	labelRegion   = "region"
)

// InfoValue is the value of every info series: YACE's, whose joins add it
// (metric + on(…) group_left(tag_Team) aws_rds_info), so the sum is the
// metric's value. cwstream's metric series have no name label: joins go
// through account_id, region and the dimension labels (README, "Tags").
// Filters select with "and on(…)", which ignores the value.
const InfoValue = 0

// retryAfter is the longest wait before a failed lookup is tried again.
const retryAfter = time.Minute

// MaxResources bounds the resources an Enricher remembers having seen, so
// hostile input cannot grow a long-lived Lambda's heap without end; a
// resource past it gets no info series (counted in Stats.Overflow).
const MaxResources = 100_000

// MaxScopes bounds the lookups an Enricher keeps: accounts times regions
// with tags.role_arn, regions without. CloudWatch cross-account
// observability links a monitoring account to many source accounts, but
// every one is a lookup (and an sts:AssumeRole) per refresh: past the
// bound, resources of new accounts and regions get no info series
// (counted in Stats.Overflow), so that hostile input cannot turn into a
// flood of API calls.
const MaxScopes = 1000

// concurrentLookups bounds the lookups running at once: with many accounts
// their refreshes fall due together, and each is an sts:AssumeRole and a
// run of GetResources pages against per-account rate limits.
const concurrentLookups = 8

// Defaults of Options.
const (
	DefaultTimeout = 30 * time.Second
	DefaultWait    = time.Second
)

// Options configure an Enricher beyond its Config.
type Options struct {
	// Logger for failed lookups; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Timeout bounds one lookup (an account's region), every page
	// included. Zero is
	// DefaultTimeout.
	Timeout time.Duration
	// Wait bounds how long Append waits for lookups in flight before it
	// builds the info series from what is cached. Zero is DefaultWait; a
	// negative value does not wait.
	Wait time.Duration
	// ExternalLabels are added to every info series, as to every series.
	ExternalLabels map[string]string
}

// Stats counts what an Enricher did since it was made. Lookups and their
// errors happen on other goroutines; Stats is safe to call at any time.
type Stats struct {
	Lookups      int64 // lookups (of an account's region) finished, failed ones included
	LookupErrors int64 // lookups that failed or timed out
	InfoSeries   int64 // info samples appended
	Overflow     int64 // resources not remembered (MaxResources) or not looked up (MaxScopes)
}

// Enricher turns the resources seen in the stream into YACE info series.
//
// Observe and Append are the record path and must be called from one
// goroutine; lookups run on goroutines of their own and never block them
// longer than Options.Wait.
type Enricher struct {
	lookup  Lookup
	cross   bool // tags.role_arn is set: every account is looked up
	types   []string
	kindOn  []bool // by index into kinds
	filter  keyFilter
	ext     []sample.Label
	infos   []string // info series name by namespace index
	refresh time.Duration
	timeout time.Duration
	wait    time.Duration
	log     *slog.Logger
	now     func() time.Time

	// Record path only.
	nsIndex map[string]int
	seen    map[seenKey]*seenEntry
	current []*seenEntry // seen since the last Append
	gen     uint64
	scopes  []scope // scratch

	mu    sync.Mutex
	state map[scope]*scopeState
	slots chan struct{} // concurrentLookups

	lookups, lookupErrors, infoSeries, overflow atomic.Int64
}

// resKey identifies a resource: its kind, account and dimension values.
type resKey struct {
	kind            int
	account, v1, v2 string
}

type seenKey struct {
	ns     int
	region string
	res    resKey
}

type seenEntry struct {
	key seenKey
	gen uint64
}

// scope is what one lookup covers: a region of an account. account is ""
// without tags.role_arn: the function's own account, the only one the
// Tagging API answers for then.
type scope struct {
	account, region string
}

func (s scope) String() string {
	if s.account == "" {
		return s.region
	}
	return "account " + s.account + ", " + s.region
}

// scopeState is the cache of one scope. index is replaced whole by a
// lookup, never changed in place, so info samples may alias its labels.
type scopeState struct {
	index     map[resKey][]sample.Label
	fetched   time.Time     // the last successful lookup ended
	attempted time.Time     // the last lookup started
	inflight  chan struct{} // closed when the lookup in flight ends; nil when none
	err       error         // of the last lookup
	never     bool          // an account that cannot be looked up (ErrNoRole, ErrNotAnAccount)
}

// New returns an Enricher for cfg, which must be valid and enabled, looking
// tags up with l.
func New(cfg *Config, l Lookup, opts Options) *Enricher {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Wait == 0 {
		opts.Wait = DefaultWait
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Enricher{
		lookup:  l,
		cross:   cfg.RoleARN != "",
		kindOn:  make([]bool, len(kinds)),
		types:   slices.Clone(cfg.ResourceTypes),
		filter:  newKeyFilter(cfg),
		refresh: time.Duration(cfg.Refresh),
		timeout: opts.Timeout,
		wait:    opts.Wait,
		log:     log,
		now:     opts.Now,
		nsIndex: make(map[string]int, len(namespaces)),
		seen:    make(map[seenKey]*seenEntry),
		state:   make(map[scope]*scopeState),
		slots:   make(chan struct{}, concurrentLookups),
	}
	for _, t := range cfg.ResourceTypes {
		if i := kindIndex(t); i >= 0 {
			e.kindOn[i] = true
		}
	}
	for i, ns := range namespaces {
		e.nsIndex[ns.name] = i
		e.infos = append(e.infos, naming.Base(ns.name, "info"))
	}
	for _, name := range slices.Sorted(maps.Keys(opts.ExternalLabels)) {
		e.ext = append(e.ext, sample.Label{Name: name, Value: opts.ExternalLabels[name]})
	}
	return e
}

// InfoName returns the info series name of a CloudWatch namespace, as YACE
// names it: aws_rds_info, aws_ecs_containerinsights_info.
func InfoName(namespace string) string { return naming.Base(namespace, "info") }

// Stats returns the counts so far.
func (e *Enricher) Stats() Stats {
	return Stats{
		Lookups:      e.lookups.Load(),
		LookupErrors: e.lookupErrors.Load(),
		InfoSeries:   e.infoSeries.Load(),
		Overflow:     e.overflow.Load(),
	}
}

// Observe notes the resources u belongs to: the resource of every enabled
// kind of u's namespace whose identifying dimensions u carries. It is on the
// per-datapoint path: once a resource has been seen, observing it again
// allocates nothing.
func (e *Enricher) Observe(u *cw.Update) {
	ns, ok := e.nsIndex[u.Namespace]
	if !ok {
		return
	}
	for _, k := range namespaces[ns].kinds {
		if !e.kindOn[k] {
			continue
		}
		if v, ok := kindValues(u, k); ok {
			e.mark(seenKey{ns: ns, region: u.Region, res: resKey{kind: k, account: u.AccountID, v1: v[0], v2: v[1]}})
		}
	}
}

// kindValues returns the values of kind k's dimensions in u (the second
// empty for a kind of one dimension); ok is false when u lacks one.
func kindValues(u *cw.Update, k int) (v [2]string, ok bool) {
	for j, name := range kinds[k].dims {
		if v[j] = dimension(u.Dimensions, name); v[j] == "" {
			return v, false
		}
	}
	return v, true
}

func dimension(dims []cw.Dimension, name string) string {
	for _, d := range dims {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

func (e *Enricher) mark(key seenKey) {
	if ent, ok := e.seen[key]; ok {
		if ent.gen != e.gen {
			ent.gen = e.gen
			e.current = append(e.current, ent)
		}
		return
	}
	if len(e.seen) >= MaxResources {
		e.overflow.Add(1)
		return
	}
	// The key's strings alias the decoder's buffer: keep copies.
	key.region = strings.Clone(key.region)
	key.res.account = strings.Clone(key.res.account)
	key.res.v1 = strings.Clone(key.res.v1)
	key.res.v2 = strings.Clone(key.res.v2)
	ent := &seenEntry{key: key, gen: e.gen}
	e.seen[key] = ent
	e.current = append(e.current, ent)
}

// Begin starts a lookup for every account and region seen before whose
// tags are due for a refresh, so that it runs while the records are
// processed. It never blocks.
func (e *Enricher) Begin() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for sc, st := range e.state {
		e.startLocked(sc, st, now)
	}
}

// scopeOf returns the lookup that covers a resource seen; ok is false for
// an "account" that is no account id: it did not come from CloudWatch, and
// takes no lookup, nor one of MaxScopes.
func (e *Enricher) scopeOf(k *seenKey) (sc scope, ok bool) {
	if !e.cross {
		return scope{region: k.region}, true
	}
	return scope{account: k.res.account, region: k.region}, isAccountID(k.res.account)
}

// Append appends an info series sample, timestamped t, for every resource
// observed since the last Append whose tags are known, and starts the
// lookups that are due for the accounts and regions seen. It waits for
// lookups in flight there at most Options.Wait, and never past ctx: a
// lookup that fails or hangs only leaves the info series stale (or absent
// until a lookup succeeds), counted in Stats.LookupErrors.
//
// The samples' labels are shared and must not be modified.
func (e *Enricher) Append(ctx context.Context, dst []sample.Sample, t int64) []sample.Sample {
	e.scopes = e.scopes[:0]
	for _, ent := range e.current {
		if sc, ok := e.scopeOf(&ent.key); ok && !slices.Contains(e.scopes, sc) {
			e.scopes = append(e.scopes, sc)
		}
	}
	var waits []chan struct{}
	e.mu.Lock()
	now := e.now()
	for _, sc := range e.scopes {
		st, ok := e.state[sc]
		if !ok {
			if len(e.state) >= MaxScopes {
				continue
			}
			st = &scopeState{}
			e.state[sc] = st
		}
		e.startLocked(sc, st, now)
		if st.inflight != nil {
			waits = append(waits, st.inflight)
		}
	}
	e.mu.Unlock()

	if len(waits) > 0 && e.wait > 0 {
		timer := time.NewTimer(e.wait)
	wait:
		for _, ch := range waits {
			select {
			case <-ch:
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		timer.Stop()
	}

	e.mu.Lock()
	for _, ent := range e.current {
		sc, ok := e.scopeOf(&ent.key)
		if !ok {
			continue
		}
		st := e.state[sc]
		if st == nil { // past MaxScopes
			e.overflow.Add(1)
			continue
		}
		if lbls, ok := st.index[ent.key.res]; ok {
			dst = append(dst, sample.Sample{Name: e.infos[ent.key.ns], Labels: lbls, T: t, V: InfoValue})
			e.infoSeries.Add(1)
		}
	}
	e.mu.Unlock()
	e.current = e.current[:0]
	e.gen++
	return dst
}

// due reports whether a scope's tags should be looked up now: never looked
// up, or older than the refresh interval; after a failure, not before a
// minute (or the refresh interval, if shorter) has passed; never for an
// account that cannot be looked up.
func (e *Enricher) due(st *scopeState, now time.Time) bool {
	if st.inflight != nil || st.never {
		return false
	}
	if st.err != nil && now.Sub(st.attempted) < min(e.refresh, retryAfter) {
		return false // the last attempt failed: wait before trying again
	}
	return st.index == nil || now.Sub(st.fetched) >= e.refresh
}

func (e *Enricher) startLocked(sc scope, st *scopeState, now time.Time) {
	if !e.due(st, now) {
		return
	}
	st.attempted = now
	st.inflight = make(chan struct{})
	go e.run(sc, st.inflight)
}

// run looks one scope up and publishes the result. It is the only place
// that calls the Lookup, on a goroutine of its own.
func (e *Enricher) run(sc scope, done chan struct{}) {
	var (
		index map[resKey][]sample.Label
		err   error
	)
	func() {
		defer func() {
			// A panic on this goroutine would end the Lambda process.
			if v := recover(); v != nil {
				err = fmt.Errorf("tags: lookup in %s panicked: %v", sc, v)
			}
		}()
		e.slots <- struct{}{}
		defer func() { <-e.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
		defer cancel()
		var res []Resource
		res, err = e.lookup.Resources(ctx, sc.account, sc.region, e.types)
		if err == nil {
			index = e.build(res)
		}
	}()
	e.lookups.Add(1)
	e.mu.Lock()
	st := e.state[sc]
	st.err = err
	switch {
	case errors.Is(err, ErrNoRole), errors.Is(err, ErrNotAnAccount):
		// Configuration or input, not a failure: said once, never tried
		// again.
		st.never = true
		e.log.Info("resources of an account that cannot be looked up get no info series", "account", sc.account, "region", sc.region, "error", err)
	case err != nil:
		e.lookupErrors.Add(1)
		e.log.Warn("tag lookup failed; info series stay as they were", "account", sc.account, "region", sc.region, "error", err)
	default:
		st.index, st.fetched = index, e.now()
	}
	st.inflight = nil
	e.mu.Unlock()
	close(done)
}

// build turns looked-up resources into the label sets of their info series,
// keyed as Observe keys what it sees.
func (e *Enricher) build(res []Resource) map[resKey][]sample.Label {
	index := make(map[resKey][]sample.Label, len(res))
	for _, r := range res {
		a, ok := ParseARN(r.ARN)
		if !ok || !e.kindOn[a.kind] {
			continue
		}
		key := resKey{kind: a.kind, account: a.Account, v1: a.Dimensions[0].Value}
		if len(a.Dimensions) > 1 {
			key.v2 = a.Dimensions[1].Value
		}
		index[key] = e.labels(a, r)
	}
	return index
}

// labels is the sorted label set of one resource's info series.
func (e *Enricher) labels(a ARN, r Resource) []sample.Label {
	l := make([]sample.Label, 0, 3+len(a.Dimensions)+len(r.Tags)+len(e.ext))
	l = append(l,
		sample.Label{Name: LabelResource, Value: r.ARN},
		sample.Label{Name: labelAccount, Value: a.Account},
		sample.Label{Name: labelRegion, Value: a.Region},
	)
	for _, d := range a.Dimensions {
		l = append(l, sample.Label{Name: naming.LabelName(d.Name), Value: d.Value})
	}
	tags := slices.Clone(r.Tags)
	slices.SortFunc(tags, func(x, y Tag) int { return strings.Compare(x.Key, y.Key) })
	for _, t := range tags {
		name, ok := LabelName(t.Key)
		// An empty value is no label; two keys that sanitise alike keep
		// the first in key order, so the result does not depend on the
		// API's order.
		if !ok || t.Value == "" || !e.filter.keep(t.Key) || slices.ContainsFunc(l, func(x sample.Label) bool { return x.Name == name }) {
			continue
		}
		l = append(l, sample.Label{Name: name, Value: t.Value})
	}
	l = append(l, e.ext...)
	slices.SortFunc(l, func(x, y sample.Label) int { return strings.Compare(x.Name, y.Name) })
	return l
}
