package rules

// The lag simulation: CloudWatch data delivered the way a metric stream
// delivers it, through the real write path (Firehose core, remote write)
// into a real Prometheus, with the rules evaluated every minute by the
// pinned rule engine over what has arrived so far.
//
// The timeline, in minutes from simStart (a sample is stamped with the end
// of its minute):
//
//	minutes 1–100  every resource of the fleet streams one datapoint a
//	               minute, in four pieces (Firehose records): ALB requests
//	               and gauges, ALB 5xx counts, RDS, ECS
//	arrival        each piece reaches the store 2–4 minutes after its stamp
//	               (lagOf): CloudWatch's 2–3 minutes plus Firehose buffering,
//	               so a minute's requests and its 5xx arrive apart
//	revisions      every 7th minute's requests piece is sent again with a
//	               revised value: 20 s later, in the same invocation, when
//	               the minute is 0 mod 14; otherwise 50 s later, in one of
//	               its own
//	zero counts    CloudWatch leaves out count minutes that are zero: the
//	               healthy load balancers' 5xx come only on even minutes,
//	               ELB 5xx and rejected connections only with a fault
//	minute 30      the faults of simFaults begin (each on its own resource)
//	minute 60      the 5xx and rejected-connection faults end
//	minute 70      account 222222222222 stops streaming
//	minute 100     the whole stream stops
//	minute 125     the RDS pieces of minutes 10–14 arrive, ~110 minutes
//	               late: older than the store's 10-minute out-of-order
//	               window, so the store refuses them
//	evaluation     every minute at :30, minutes 0–130
//
// It shows, with the default 4-minute query offset:
//   - the rules cannot tell the lag: every recorded sample and every
//     alert state (the ALERTS series) equals what the same rules give over
//     the same data (what the store held at the end) written in full
//     before evaluating (TestLagSimulation);
//   - every alert of simFaults fires on its fault within its for: plus the
//     offset (plus what its expression's own window needs) and no alert
//     fires on a healthy resource; the 5xx and rejected-connection alerts
//     resolve within the offset after their fault ends;
//   - without the offset (TestLagSimulationWithoutOffset) the rules read
//     half-arrived minutes: the recorded values differ.
//
// Not simulated: the sidecar group (the ADOT collectors write within
// seconds; its offset is 0; the unit tests cover it).

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/promql"
	promrules "github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"

	"github.com/cwstream/cwstream/internal/cause"
	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/cw"
	"github.com/cwstream/cwstream/internal/envelope"
	"github.com/cwstream/cwstream/internal/firehose"
	"github.com/cwstream/cwstream/internal/promquery"
	"github.com/cwstream/cwstream/internal/promtest"
	"github.com/cwstream/cwstream/internal/remotewrite"
	"github.com/cwstream/cwstream/internal/streamtest"
)

var simStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const (
	simMinutes   = 100 // minutes of data
	simEvalUntil = 130 // last evaluation, in minutes
	faultBegins  = 30
	faultEnds    = 60
	accountStops = 70
	lateArrival  = 125 // minute the too-old pieces arrive
	account1     = "111111111111"
	account2     = "222222222222"
	simRegion    = "eu-west-1"
)

// minuteAt is the time of minute m of the timeline.
func minuteAt(m int) time.Time { return simStart.Add(time.Duration(m) * time.Minute) }

// lagOf is how long after its stamp a piece reaches the store: 2–4
// minutes, spread over the seconds by a hash so that pieces of one minute
// arrive apart and in any order.
func lagOf(m int, piece string) time.Duration {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", m, piece)
	return 2*time.Minute + time.Duration(h.Sum32()%121)*time.Second
}

// simFault is an alert the fleet's faults must fire, on the resource whose
// labels are given, and only there.
type simFault struct {
	alert  string
	labels map[string]string
	// from is the fault's first minute; 0 is faultBegins.
	from int
	// window is what the expression needs past the first faulty minute
	// before it holds (a lookback that must empty, a range that must fill).
	window time.Duration
	// resolves: the fault ends at faultEnds and the alert must stop.
	resolves bool
}

var simFaults = []simFault{
	{alert: "ALBHigh5xxShare", labels: map[string]string{"dimension_LoadBalancer": "app/err/1"}, resolves: true},
	{alert: "ALBTargetResponseTimeP99High", labels: map[string]string{"dimension_LoadBalancer": "app/slow/1"}},
	{alert: "ALBUnhealthyHosts", labels: map[string]string{"dimension_LoadBalancer": "app/sick/1", "dimension_TargetGroup": "targetgroup/sick/1"}},
	{alert: "ALBNoHealthyHosts", labels: map[string]string{"dimension_LoadBalancer": "app/sick/1", "dimension_TargetGroup": "targetgroup/sick/1"}},
	{alert: "ALBRejectedConnections", labels: map[string]string{"dimension_LoadBalancer": "app/full/1"}, resolves: true},
	{alert: "RDSCPUHigh", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-cpu"}},
	{alert: "RDSFreeableMemoryLow", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-mem"}},
	{alert: "RDSFreeStorageLow", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-disk"}},
	{alert: "RDSStorageFullIn24h", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-disk"}},
	{alert: "RDSConnectionsNearMax", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-conn"}},
	{alert: "RDSReplicaLagHigh", labels: map[string]string{"dimension_DBInstanceIdentifier": "db-lag"}},
	{alert: "ECSServiceCPUHigh", labels: map[string]string{"dimension_ServiceName": "cpu-hot"}},
	{alert: "ECSServiceMemoryHigh", labels: map[string]string{"dimension_ServiceName": "mem-hot"}},
	{alert: "ECSServiceRunningBelowDesired", labels: map[string]string{"dimension_ServiceName": "short"}},
	// The account's last samples count for the 5-minute lookback.
	{alert: "CWStreamAccountRegionStopped", labels: map[string]string{"account_id": account2}, from: accountStops, window: 5 * time.Minute},
	// When the whole stream stops, so does every account; nothing is
	// streamed for the 10 minutes of absent_over_time.
	{alert: "CWStreamAccountRegionStopped", labels: map[string]string{"account_id": account1}, from: simMinutes + 1, window: 5 * time.Minute},
	{alert: "CWStreamNoData", labels: map[string]string{}, from: simMinutes + 1, window: 10 * time.Minute},
}

// simSeries is one CloudWatch metric of one resource.
type simSeries struct {
	piece     string // the record it travels in
	account   string
	namespace string
	metric    string
	dims      []cw.Dimension
	kind      string // "count" (Sum), "gauge" (Sum, Min, Max of one value), "p99"
	// value is the minute's value; false when CloudWatch leaves the
	// minute out.
	value func(m int) (float64, bool)
}

func every(v float64) func(int) (float64, bool) { return func(int) (float64, bool) { return v, true } }

// faulty is healthy before faultBegins and bad from it.
func faulty(healthy, bad float64) func(int) (float64, bool) {
	return func(m int) (float64, bool) {
		if m >= faultBegins {
			return bad, true
		}
		return healthy, true
	}
}

// requests varies from minute to minute, so that a share computed from
// two different minutes differs from the right one.
func requests(m int) (float64, bool) { return float64(600 + 300*(m%3)), true }

// fleet is the simulated installation: healthy resources and one resource
// per fault of simFaults.
func fleet() []simSeries {
	var out []simSeries
	lb := func(name string) []cw.Dimension { return []cw.Dimension{{Name: "LoadBalancer", Value: name}} }
	for _, name := range []string{"app/healthy/1", "app/err/1", "app/slow/1", "app/full/1"} {
		out = append(out, simSeries{piece: "alb", account: account1, namespace: "AWS/ApplicationELB", metric: "RequestCount", dims: lb(name), kind: "count", value: requests})
	}
	// Healthy: 1 % of the requests fail, on even minutes only; zero, and
	// so absent, on odd ones.
	out = append(out, simSeries{piece: "alb5xx", account: account1, namespace: "AWS/ApplicationELB", metric: "HTTPCode_Target_5XX_Count", dims: lb("app/healthy/1"), kind: "count",
		value: func(m int) (float64, bool) {
			r, _ := requests(m)
			return r / 100, m%2 == 0
		}})
	// The fault: 20 % of the requests fail at the targets, 5 % at the load
	// balancer, from faultBegins to faultEnds.
	for metric, share := range map[string]float64{"HTTPCode_Target_5XX_Count": 0.2, "HTTPCode_ELB_5XX_Count": 0.05} {
		out = append(out, simSeries{piece: "alb5xx", account: account1, namespace: "AWS/ApplicationELB", metric: metric, dims: lb("app/err/1"), kind: "count",
			value: func(m int) (float64, bool) {
				r, _ := requests(m)
				return r * share, m >= faultBegins && m < faultEnds
			}})
	}
	out = append(out, simSeries{piece: "alb", account: account1, namespace: "AWS/ApplicationELB", metric: "RejectedConnectionCount", dims: lb("app/full/1"), kind: "count",
		value: func(m int) (float64, bool) { return 5, m >= faultBegins && m < faultEnds }})
	for _, name := range []string{"app/healthy/1", "app/slow/1"} {
		p99 := every(0.3)
		if name == "app/slow/1" {
			p99 = faulty(0.3, 3)
		}
		out = append(out, simSeries{piece: "alb", account: account1, namespace: "AWS/ApplicationELB", metric: "TargetResponseTime", dims: lb(name), kind: "p99", value: p99})
	}
	for _, tg := range []string{"healthy", "sick"} {
		dims := []cw.Dimension{{Name: "LoadBalancer", Value: "app/" + tg + "/1"}, {Name: "TargetGroup", Value: "targetgroup/" + tg + "/1"}}
		healthy, unhealthy := every(2), every(0)
		if tg == "sick" {
			healthy, unhealthy = faulty(2, 0), faulty(0, 2)
		}
		out = append(out,
			simSeries{piece: "alb", account: account1, namespace: "AWS/ApplicationELB", metric: "HealthyHostCount", dims: dims, kind: "gauge", value: healthy},
			simSeries{piece: "alb", account: account1, namespace: "AWS/ApplicationELB", metric: "UnHealthyHostCount", dims: dims, kind: "gauge", value: unhealthy})
	}
	rds := func(account, db string, cpu, mem, storage, conns, lag func(int) (float64, bool)) {
		dims := []cw.Dimension{{Name: "DBInstanceIdentifier", Value: db}}
		for metric, v := range map[string]func(int) (float64, bool){
			"CPUUtilization": cpu, "FreeableMemory": mem, "FreeStorageSpace": storage, "DatabaseConnections": conns, "ReplicaLag": lag,
		} {
			piece := "rds"
			if account == account2 {
				piece = "rds2"
			}
			out = append(out, simSeries{piece: piece, account: account, namespace: "AWS/RDS", metric: metric, dims: dims, kind: "gauge", value: v})
		}
	}
	cpu, mem, disk, conns, lag := every(20), every(2<<30), every(100<<30), every(50), every(1)
	rds(account1, "db-healthy", cpu, mem, disk, conns, lag)
	rds(account1, "db-cpu", faulty(20, 95), mem, disk, conns, lag)
	rds(account1, "db-mem", cpu, faulty(2<<30, 100<<20), disk, conns, lag)
	rds(account1, "db-disk", cpu, mem, faulty(100<<30, 5<<30), conns, lag)
	rds(account1, "db-conn", cpu, mem, disk, faulty(50, 900), lag)
	rds(account1, "db-lag", cpu, mem, disk, conns, faulty(1, 120))
	stops := func(v float64) func(int) (float64, bool) {
		return func(m int) (float64, bool) { return v, m < accountStops }
	}
	rds(account2, "db-other", stops(20), stops(2<<30), stops(100<<30), stops(50), stops(1))
	ecs := func(service string, cpu, mem, running func(int) (float64, bool)) {
		dims := []cw.Dimension{{Name: "ClusterName", Value: "prod"}, {Name: "ServiceName", Value: service}}
		out = append(out,
			simSeries{piece: "ecs", account: account1, namespace: "AWS/ECS", metric: "CPUUtilization", dims: dims, kind: "gauge", value: cpu},
			simSeries{piece: "ecs", account: account1, namespace: "AWS/ECS", metric: "MemoryUtilization", dims: dims, kind: "gauge", value: mem},
			simSeries{piece: "ecs", account: account1, namespace: "ECS/ContainerInsights", metric: "RunningTaskCount", dims: dims, kind: "gauge", value: running},
			simSeries{piece: "ecs", account: account1, namespace: "ECS/ContainerInsights", metric: "DesiredTaskCount", dims: dims, kind: "gauge", value: every(4)})
	}
	ecs("web", every(40), every(50), every(4))
	ecs("cpu-hot", faulty(40, 95), every(50), every(4))
	ecs("mem-hot", every(40), faulty(50, 95), every(4))
	ecs("short", every(40), every(50), faulty(4, 2))
	return out
}

// update is s's datapoint of minute m, stamped minuteAt(m).
func (s simSeries) update(m int, v float64) cw.Update {
	end := uint64(minuteAt(m).UnixNano())
	u := cw.Update{
		AccountID: s.account, Region: simRegion,
		StreamARN: "arn:aws:cloudwatch:" + simRegion + ":" + s.account + ":metric-stream/sim",
		Namespace: s.namespace, MetricName: s.metric, Unit: "1", Dimensions: s.dims,
		StartUnixNano: end - uint64(time.Minute), EndUnixNano: end,
		Count: 1, Sum: v,
	}
	switch s.kind {
	case "gauge":
		u.Min, u.Max, u.HasMin, u.HasMax = v, v, true, true
	case "p99":
		u.Percentiles = []cw.Quantile{{Q: 0.99, Value: v}}
	}
	return u
}

// delivery is one Firehose record reaching the Lambda at a time.
type delivery struct {
	name string
	at   time.Time
	data []byte
}

// deliveries builds the timeline's records in arrival order.
func deliveries() []delivery {
	byPiece := map[string][]simSeries{}
	for _, s := range fleet() {
		byPiece[s.piece] = append(byPiece[s.piece], s)
	}
	var out []delivery
	for m := 1; m <= simMinutes; m++ {
		for _, piece := range slices.Sorted(maps.Keys(byPiece)) {
			var ups, revised []cw.Update
			for _, s := range byPiece[piece] {
				if v, ok := s.value(m); ok {
					ups = append(ups, s.update(m, v))
					if piece == "alb" && s.metric == "RequestCount" && m%7 == 0 {
						revised = append(revised, s.update(m, v+7))
					}
				}
			}
			if len(ups) == 0 {
				continue
			}
			at := minuteAt(m).Add(lagOf(m, piece))
			if piece == "rds" && m >= 10 && m < 15 {
				at = minuteAt(lateArrival)
			}
			out = append(out, delivery{name: fmt.Sprintf("%s@%d", piece, m), at: at, data: streamtest.JSON(ups)})
			if len(revised) > 0 {
				later := 50 * time.Second
				if m%14 == 0 {
					later = 20 * time.Second
				}
				out = append(out, delivery{name: fmt.Sprintf("%s@%d-revised", piece, m), at: at.Add(later), data: streamtest.JSON(revised)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b delivery) int { return a.at.Compare(b.at) })
	return out
}

// evalTime is the time of the evaluation of minute m: at :30, off the
// samples' whole minutes, so a [1m] range holds one sample however the
// engine bounds it (Debian's Prometheus 2.42, answering the rule queries,
// includes the range's start; Prometheus 3 does not).
func evalTime(m int) time.Time { return minuteAt(m).Add(30 * time.Second) }

// simRun is the outcome of one run of the rules over the timeline.
type simRun struct {
	// recorded is every recorded and ALERTS sample, as text lines.
	recorded string
	// firing maps alert and labels to the evaluations it fired at.
	firing map[string][]time.Time
	// outcomes maps each delivery to its record's result and cause (the
	// lagged run only).
	outcomes map[string]string
}

// simulate runs the timeline into a new Prometheus with AMP's out-of-order
// window as the CDK app sets it (600 s), with the rules built with offset
// evaluated every minute over what has arrived. It returns the run and the
// CloudWatch samples the store holds at the end.
func simulate(t *testing.T, offset time.Duration) (simRun, []promquery.Series) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(10*time.Minute))
	rw, err := remotewrite.New(remotewrite.Config{URL: prom.WriteURL(), MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 2}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	core := firehose.NewCore(config.Default(), rw, firehose.Options{})
	run := simRun{outcomes: map[string]string{}}
	pending := deliveries()
	deliver := func(until time.Time) {
		for len(pending) > 0 && !pending[0].at.After(until) {
			d := pending[0]
			pending = pending[1:]
			out := core.Process(ctx, []firehose.Record{{ID: d.name, Data: d.data}})
			run.outcomes[d.name] = outcomeString(out[0])
		}
	}
	evaluate(ctx, t, &run, prom, offset, deliver)
	data, err := prom.Samples(ctx, `{__name__=~"aws_.+"}`, simStart.Add(-time.Hour), minuteAt(simEvalUntil+1))
	if err != nil {
		t.Fatal(err)
	}
	return run, data
}

// complete evaluates the same rules over data written in full before the
// first evaluation: what they compute once everything has arrived. Its
// store's window is a day, for the rules' output stamped long before the
// newest sample.
func complete(t *testing.T, offset time.Duration, data []promquery.Series) simRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prom := promtest.Start(t, promtest.WithOutOfOrderWindow(24*time.Hour))
	for _, s := range data {
		var ts prompb.TimeSeries
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			ts.Labels = append(ts.Labels, prompb.Label{Name: k, Value: s.Labels[k]})
		}
		for _, p := range s.Points {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: p.T, Value: p.V})
		}
		if err := prom.Write(ctx, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{ts}}); err != nil {
			t.Fatal(err)
		}
	}
	run := simRun{}
	evaluate(ctx, t, &run, prom, offset, func(time.Time) {})
	return run
}

// evaluate runs the rules built with offset at every evaluation of the
// timeline, calling deliver(ts) before each, and fills in run's firing
// alerts and recorded samples.
func evaluate(ctx context.Context, t *testing.T, run *simRun, prom *promtest.Server, offset time.Duration, deliver func(time.Time)) {
	t.Helper()
	o := DefaultOptions()
	o.QueryOffset = offset
	f, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	e := loadEngine(t, f, promQuery(prom), remoteAppendable{prom})
	run.firing = map[string][]time.Time{}
	for m := 0; m <= simEvalUntil; m++ {
		ts := evalTime(m)
		deliver(ts)
		if err := e.eval(ctx, ts); err != nil {
			t.Fatal(err)
		}
		for name, sets := range e.firingLabels() {
			for _, ls := range sets {
				key := name + ls.String()
				run.firing[key] = append(run.firing[key], ts)
			}
		}
	}
	deliver(minuteAt(simEvalUntil + 1))
	dump, err := prom.Dump(ctx, simStart.Add(-time.Hour), minuteAt(simEvalUntil+1))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for l := range strings.Lines(dump) {
		name, _, _ := strings.Cut(l, "{")
		if strings.Contains(name, ":") || name == "ALERTS" {
			kept = append(kept, l)
		}
	}
	run.recorded = strings.Join(kept, "")
}

func outcomeString(o firehose.Outcome) string {
	if o.Result == envelope.Dropped {
		return "written"
	}
	return o.Cause.String()
}

// TestLagSimulation: see the timeline at the top of the file.
func TestLagSimulation(t *testing.T) {
	promtest.Binary(t)
	t.Parallel()
	offset := DefaultQueryOffset
	lagged, data := simulate(t, offset)
	full := complete(t, offset, data)

	// The rules cannot tell the lag.
	if lagged.recorded == "" {
		t.Fatal("no recorded samples")
	}
	if d := firstDiff(lagged.recorded, full.recorded); d != "" {
		t.Errorf("recorded series and alert states read as the stream delivers differ from those over complete data: %s", d)
	}
	t.Logf("%d recorded and ALERTS samples equal", strings.Count(lagged.recorded, "\n"))

	// What the write path did with each piece.
	counts := map[string]int{}
	for name, got := range lagged.outcomes {
		counts[got]++
		want := "written"
		switch {
		case isLateRDS(name):
			want = cause.TooOld.String()
		case strings.HasSuffix(name, "-revised"):
			// The revision of a minute already stored cannot replace it:
			// a later invocation's different value is a conflict, or
			// dropped by the out-of-order path (see promtest's package
			// doc); an earlier one in the same invocation is superseded.
			if got == cause.Conflict.String() {
				want = got
			}
		}
		if got != want {
			t.Errorf("delivery %s: %s, want %s", name, got, want)
		}
	}
	t.Logf("deliveries: %v", counts)

	// Every fault's alert fires within for: plus the offset, and resolves.
	f, err := Build(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	forOf := map[string]time.Duration{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				d, err := time.ParseDuration(r.For)
				if err != nil {
					t.Fatal(err)
				}
				forOf[r.Alert] = d
			}
		}
	}
	begins, ends := minuteAt(faultBegins), minuteAt(faultEnds)
	matched := map[string]bool{}
	for _, fault := range simFaults {
		start := begins
		if fault.from != 0 {
			start = minuteAt(fault.from)
		}
		var times []time.Time
		for key, ts := range lagged.firing {
			if strings.HasPrefix(key, fault.alert+"{") && labelsMatch(key, fault.labels) {
				matched[key] = true
				times = append(times, ts...)
			}
		}
		slices.SortFunc(times, time.Time.Compare)
		if len(times) == 0 {
			t.Errorf("%s on %v: never fired", fault.alert, fault.labels)
			continue
		}
		// At the earliest for: after the first faulty minute, at the latest
		// that plus what the window needs, the offset and one evaluation
		// interval (the evaluation at :30 after the condition holds).
		first := times[0]
		latest := start.Add(fault.window + forOf[fault.alert] + offset + time.Minute + 30*time.Second)
		if first.Before(start.Add(forOf[fault.alert])) || first.After(latest) {
			t.Errorf("%s on %v: first fired at minute %v, want within [%v, %v]", fault.alert, fault.labels,
				first.Sub(simStart), start.Add(forOf[fault.alert]).Sub(simStart), latest.Sub(simStart))
		}
		t.Logf("%-30s for %-4v fires %v after its fault (offset %v)", fault.alert, forOf[fault.alert], first.Sub(start), offset)
		if fault.resolves {
			last := times[len(times)-1]
			if bound := ends.Add(offset + time.Minute + 30*time.Second); last.After(bound) {
				t.Errorf("%s on %v: still fired at minute %v, want resolved by %v", fault.alert, fault.labels, last.Sub(simStart), bound.Sub(simStart))
			}
		}
	}
	// No alert on a healthy resource.
	for key := range lagged.firing {
		if !matched[key] {
			t.Errorf("alert on a healthy resource: %s", key)
		}
	}
}

func isLateRDS(name string) bool {
	for m := 10; m < 15; m++ {
		if name == fmt.Sprintf("rds@%d", m) {
			return true
		}
	}
	return false
}

// TestLagSimulationWithoutOffset shows what the offset is for: the same
// timeline evaluated at the present reads minutes whose pieces have not
// all arrived, and the recorded values differ from those over complete
// data.
func TestLagSimulationWithoutOffset(t *testing.T) {
	promtest.Binary(t)
	t.Parallel()
	lagged, data := simulate(t, 0)
	full := complete(t, 0, data)
	if firstDiff(lagged.recorded, full.recorded) == "" {
		t.Error("without a query offset the rules read the same values as over complete data; the simulation does not show the lag")
	}
}

// labelsMatch reports whether the alert key (name{labels}) has every label
// of want.
func labelsMatch(key string, want map[string]string) bool {
	for k, v := range want {
		if !strings.Contains(key, k+`="`+v+`"`) {
			return false
		}
	}
	return true
}

// firstDiff returns the first line where a and b differ, or "".
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: %q, want %q", i+1, x, y)
		}
	}
	return ""
}

// promQuery evaluates the rules' queries in the real Prometheus.
func promQuery(p *promtest.Server) promrules.QueryFunc {
	return func(ctx context.Context, q string, ts time.Time) (promql.Vector, error) {
		res, err := p.Query(ctx, q, ts)
		if err != nil {
			return nil, err
		}
		vec := make(promql.Vector, 0, len(res))
		for _, s := range res {
			if len(s.Points) != 1 {
				return nil, fmt.Errorf("query %s: %d points in an instant vector element", q, len(s.Points))
			}
			vec = append(vec, promql.Sample{Metric: labels.FromMap(s.Labels), T: s.Points[0].T, F: s.Points[0].V})
		}
		return vec, nil
	}
}

// remoteAppendable writes what the rules record (and the ALERTS series)
// into the real Prometheus, one remote-write request per commit.
type remoteAppendable struct{ p *promtest.Server }

func (a remoteAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &remoteAppender{p: a.p, ctx: ctx}
}

type remoteAppender struct {
	p   *promtest.Server
	ctx context.Context
	ts  []prompb.TimeSeries
}

func (r *remoteAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, _ storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return 0, errors.New("remote appender: no histograms")
	}
	var pl []prompb.Label
	ls.Range(func(l labels.Label) { pl = append(pl, prompb.Label{Name: l.Name, Value: l.Value}) })
	r.ts = append(r.ts, prompb.TimeSeries{Labels: pl, Samples: []prompb.Sample{{Timestamp: t, Value: v}}})
	return 0, nil
}

func (r *remoteAppender) Commit() error {
	if len(r.ts) == 0 {
		return nil
	}
	err := r.p.Write(r.ctx, &prompb.WriteRequest{Timeseries: r.ts})
	r.ts = nil
	return err
}

func (r *remoteAppender) Rollback() error {
	r.ts = nil
	return nil
}
