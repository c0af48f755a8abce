package cost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/config"
	"github.com/cwstream/cwstream/internal/convert"
	"github.com/cwstream/cwstream/internal/remotewrite"
)

// The interface endpoints item: every endpoint in every AZ all month, plus
// the remote-write bytes at the per-GB price; no item without endpoints.
func TestInterfaceEndpointsItem(t *testing.T) {
	p := testPrices()
	p.values[InterfaceEndpointPerAZHour] = 0.02
	p.values[InterfaceEndpointPerGB] = 0.05
	// One minute with 1 MiB of remote-write bodies: 43,800 MiB a month.
	tr := Traffic{Minutes: 1, Samples: 10, Series: 10, RemoteWriteBytes: 1 << 20, RemoteWriteMeasured: true}
	writeGB := 43800.0 / 1024
	for _, c := range []struct {
		endpoints, azs int
		hours, usd     float64 // 0 hours: no item
		unit           string
	}{
		{0, 2, 0, 0, ""},
		{2, 2, 2 * 2 * 730, 2*2*730*0.02 + writeGB*0.05, "2 endpoints × 2 AZs"},
		{1, 3, 3 * 730, 3*730*0.02 + writeGB*0.05, "1 endpoint × 3 AZs"},
	} {
		a := assumptions()
		a.InterfaceEndpoints, a.EndpointAZs = c.endpoints, c.azs
		if err := a.Validate(); err != nil {
			t.Fatalf("%d × %d: %v", c.endpoints, c.azs, err)
		}
		without := Estimate(tr, p, assumptions())
		b := Estimate(tr, p, a)
		it, ok := b.Item(ItemInterfaceEndpoints)
		if c.hours == 0 {
			if ok || len(b.Items) != len(without.Items) {
				t.Errorf("%d endpoints: item %+v, %d items", c.endpoints, it, len(b.Items))
			}
			continue
		}
		if !ok || !near(it.Quantity, c.hours) || !near(it.USDPerMonth, c.usd) || !strings.Contains(it.Unit, c.unit) {
			t.Errorf("%d × %d: %+v; want %v hours, $%v, unit with %q", c.endpoints, c.azs, it, c.hours, c.usd, c.unit)
		}
		if !near(b.Total-without.Total, c.usd) {
			t.Errorf("%d × %d: total grew by $%v, want $%v", c.endpoints, c.azs, b.Total-without.Total, c.usd)
		}
	}
	// Traffic whose remote writes were not measured is priced for its
	// hours alone and says so.
	a := assumptions()
	a.InterfaceEndpoints = 2
	tr.RemoteWriteBytes, tr.RemoteWriteMeasured = 0, false
	if it, _ := Estimate(tr, p, a).Item(ItemInterfaceEndpoints); !near(it.USDPerMonth, 2*2*730*0.02) || !strings.Contains(it.Price, "not measured") {
		t.Errorf("unmeasured remote writes: %+v", it)
	}
	for _, bad := range [][2]int{{-1, 2}, {1, 0}} {
		a := assumptions()
		a.InterfaceEndpoints, a.EndpointAZs = bad[0], bad[1]
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "interface endpoints") {
			t.Errorf("%d endpoints × %d AZs: %v", bad[0], bad[1], err)
		}
	}
}

// The meter's remote-write bytes are about what the Lambda's own client
// sends for the same samples: each fixture record's samples written by
// internal/remotewrite (one shard, so one request a record) to an
// httptest server. The meter encodes with prompb and puts __name__ first
// rather than in label order, so the compressed sizes differ a little.
func TestRemoteWriteBytes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	client, err := remotewrite.New(remotewrite.Config{URL: srv.URL, Concurrency: 1, MaxSamplesPerRequest: 1 << 20}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	m, plain, conv := NewMeter(cfg, Filter{}), NewMeter(cfg, Filter{}), convert.New(cfg)
	m.MeasureRemoteWrite()
	var sent int64
	for _, rec := range fleetRecords(t) {
		addAll(t, rec.data, m, plain)
		samples, _, err := conv.Record(nil, rec.data)
		if err != nil {
			t.Fatal(err)
		}
		r := client.Write(context.Background(), samples)
		if len(r.Failed) > 0 || r.Requests != 1 {
			t.Fatalf("%s: %d requests, failed %+v", rec.name, r.Requests, r.Failed)
		}
		sent += r.BytesSent
	}
	got := m.Traffic().RemoteWriteBytes
	if ratio := got / float64(sent); ratio < 0.98 || ratio > 1.02 {
		t.Errorf("meter counts %v remote-write bytes, the client sent %d (ratio %.3f)", got, sent, ratio)
	}
	if m.Traffic().RemoteWriteMeasured != true || plain.Traffic().RemoteWriteMeasured || plain.Traffic().RemoteWriteBytes != 0 {
		t.Errorf("only the meter asked to measures remote writes: %+v", plain.Traffic())
	}
	t.Logf("meter %v bytes, client %d", got, sent)
}
