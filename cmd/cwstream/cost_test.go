package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cwstream/cwstream/internal/dashboards"
	"github.com/cwstream/cwstream/internal/rules"
	"github.com/cwstream/cwstream/internal/testutil"
)

// fleet is the architecture's fleet as the fixtures hold it: two ECS
// clusters with three services, RDS instances and an Aurora cluster, two
// ALBs with their target groups, one minute of each.
var fleet = []string{"ecs.bin", "ecs-2.bin", "rds.bin", "alb.bin", "alb-2.bin"}

func fleetArgs(t *testing.T) []string {
	var args []string
	for _, n := range fleet {
		args = append(args, testutil.Testdata(t, "payloads", n))
	}
	return args
}

// The README's worked example is the command's own output: this test
// rebuilds the block between the markers and compares (-update rewrites it).
func TestCostREADME(t *testing.T) {
	const begin, end = "<!-- cost-example:begin -->\n", "<!-- cost-example:end -->\n"
	var rel []string
	for _, n := range fleet {
		rel = append(rel, "testdata/payloads/"+n)
	}
	var block strings.Builder
	block.WriteString(begin)
	for _, c := range []struct{ flags []string }{{nil}, {[]string{"--suggest"}}} {
		args := append(append([]string{"cost"}, c.flags...), fleetArgs(t)...)
		code, out, errs := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.flags, code, errs)
		}
		shown := append(append([]string{"cwstream", "cost"}, c.flags...), rel...)
		if c.flags != nil {
			block.WriteString("\n<details><summary>The full output of <code>cwstream cost --suggest</code></summary>\n\n")
		}
		block.WriteString("```\n$ " + strings.Join(shown, " ") + "\n" + out + "```\n")
		if c.flags != nil {
			block.WriteString("\n</details>\n")
		}
	}
	block.WriteString(end)

	path := filepath.Join(testutil.RepoRoot(t), "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q block", strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	got := string(readme[:i]) + block.String() + string(readme[j+len(end):])
	// The README is the golden file of the cost example (make golden).
	testutil.Golden(t, path, []byte(got))
}

// costJSON is the documented JSON form.
type costJSON struct {
	Items []struct {
		ID          string  `json:"id"`
		Quantity    float64 `json:"quantity"`
		Unit        string  `json:"unit"`
		USDPerMonth float64 `json:"usd_per_month"`
	} `json:"items"`
	Total   float64            `json:"total_usd_per_month"`
	Polling map[string]float64 `json:"polling_usd_per_month"`
}

func decodeCost(t *testing.T, out string) costJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var c costJSON
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return c
}

// Every input form gives an estimate, and the forms of the same records
// agree: raw-multi.bin.gz (a gzipped S3 object) and event.json hold the
// same data points.
func TestCostInputForms(t *testing.T) {
	ids := []string{"metric_stream", "firehose", "lambda", "s3", "kms", "amp_ingestion", "amp_storage", "amp_query", "amg"}
	byForm := map[string]costJSON{}
	for _, name := range []string{"single.bin", "event.json", "event.json.gz", "processing-failed.jsonl", "raw-multi.bin.gz", "multi.bin"} {
		code, out, errs := runCLI(t, "", "cost", "--format", "json", testutil.Testdata(t, "payloads", name))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errs)
		}
		c := decodeCost(t, out)
		var got []string
		sum := 0.0
		for _, it := range c.Items {
			got = append(got, it.ID)
			sum += it.USDPerMonth
		}
		if !slices.Equal(got, ids) {
			t.Errorf("%s: items %v, want %v", name, got, ids)
		}
		if c.Total <= 0 || c.Total-sum > 1e-9 || sum-c.Total > 1e-9 || c.Polling["1m"] <= c.Polling["5m"] {
			t.Errorf("%s: total %v (items sum to %v), polling %v", name, c.Total, sum, c.Polling)
		}
		byForm[name] = c

		code, out, errs = runCLI(t, "", "cost", "--suggest", "--format", "json", testutil.Testdata(t, "payloads", name))
		if name == "single.bin" || name == "multi.bin" { // EC2, EBS…: nothing the dashboards read
			if code != 1 || !strings.Contains(errs, "read none of the series") {
				t.Errorf("%s --suggest: exit %d, %s", name, code, errs)
			}
			continue
		}
		var s struct{ Before, After costJSON }
		if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || !(s.After.Total < s.Before.Total) {
			t.Errorf("%s --suggest: exit %d, %v: $%v → $%v\n%s", name, code, err, s.Before.Total, s.After.Total, errs)
		}
	}
	ev, raw := byForm["event.json"], byForm["raw-multi.bin.gz"]
	if ev.Items[0].Quantity != raw.Items[0].Quantity || ev.Items[5].Quantity != raw.Items[5].Quantity {
		t.Errorf("event.json and raw-multi.bin.gz differ: updates %v vs %v, samples %v vs %v",
			ev.Items[0].Quantity, raw.Items[0].Quantity, ev.Items[5].Quantity, raw.Items[5].Quantity)
	}
}

func TestCostErrors(t *testing.T) {
	bad := testutil.Testdata(t, "payloads", "bad", "mixed-event.json")
	code, out, errs := runCLI(t, "", "cost", bad)
	if code != 1 || !strings.Contains(out, "amp_ingestion") || !strings.Contains(errs, "2 of 6 records could not be decoded") {
		t.Errorf("malformed input: exit %d, want 1 with the estimate of the good records\nstdout %s\nstderr %s", code, out, errs)
	}
	one := testutil.Testdata(t, "payloads", "single.bin")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cost", "--region", "eu-west-1", one}, 1, "give --prices FILE"},
		{[]string{"cost", "--format", "yaml", one}, 1, "want text or json"},
		{[]string{"cost", "--rules", "x.yaml", one}, 1, "go with --suggest"},
		{[]string{"cost", "--memory", "64", one}, 1, "outside 128..10240"},
		{[]string{"cost", "--interface-endpoints", "-1", one}, 1, "interface endpoints -1"},
		{[]string{"cost", "--interface-endpoints", "1", "--endpoint-azs", "0", one}, 1, "endpoint AZs 0"},
		{[]string{"cost"}, 2, "usage"},
	} {
		code, _, errs := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %s; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	code, out, _ = runCLI(t, "", "cost", "--measure", one)
	if code != 0 || !strings.Contains(out, "(measured; --measure)") {
		t.Errorf("--measure: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "cost", "--list-prices")
	for _, want := range []string{"amp_tier1_per_10m_samples", "source: https://aws.amazon.com/prometheus/pricing/",
		"interface_endpoint_per_az_hour", "interface_endpoint_per_gb", "source: https://aws.amazon.com/privatelink/pricing/"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--list-prices: exit %d, no %q\n%s", code, want, out)
		}
	}
}

// --interface-endpoints adds the endpoints of the CDK app's network option
// to the bill, --endpoint-azs multiplies their hours, and the assumptions
// line names both; by default there is no such item (TestCostInputForms).
func TestCostInterfaceEndpoints(t *testing.T) {
	for _, c := range []struct {
		flags []string
		hours float64
	}{
		{[]string{"--interface-endpoints", "1"}, 1 * 2 * 730},
		{[]string{"--interface-endpoints", "3", "--endpoint-azs", "3"}, 3 * 3 * 730},
	} {
		code, out, errs := runCLI(t, "", append(append([]string{"cost", "--format", "json"}, c.flags...), fleetArgs(t)...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.flags, code, errs)
		}
		items := decodeCost(t, out).Items
		last := items[len(items)-1]
		if last.ID != "interface_endpoints" || last.Quantity != c.hours || !(last.USDPerMonth > 0) {
			t.Errorf("%v: last item %+v, want interface_endpoints over %v hours", c.flags, last, c.hours)
		}
		_, text, _ := runCLI(t, "", append(append([]string{"cost"}, c.flags...), fleetArgs(t)...)...)
		if !strings.Contains(text, "(--interface-endpoints, --endpoint-azs)") || !strings.Contains(text, "remote-written") {
			t.Errorf("%v: text output lacks the endpoints:\n%s", c.flags, text)
		}
	}
}

// A user's dashboards and rule file are read like cwstream's own: given
// cwstream's own as files, the suggestion is the same.
func TestCostSuggestUserFiles(t *testing.T) {
	dir := t.TempDir()
	models, err := dashboards.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		if err := os.WriteFile(filepath.Join(dir, m.UID+".json"), m.JSON, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text, err := rules.Text()
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	args := fleetArgs(t)
	_, own, errs := runCLI(t, "", append([]string{"cost", "--suggest", "--format", "json"}, args...)...)
	code, user, errs2 := runCLI(t, "", append([]string{"cost", "--suggest", "--format", "json", "--dashboards", dir, "--rules", rulesPath}, args...)...)
	// Everything but the presence checks, which name their source.
	type suggestion struct {
		Stream        json.RawMessage
		Config        string
		Before, After costJSON
		NotInPayloads []string `json:"not_in_payloads"`
	}
	var s, u suggestion
	if err := json.Unmarshal([]byte(own), &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(user), &u); err != nil {
		t.Fatal(err)
	}
	if code != 0 || string(s.Stream) != string(u.Stream) || s.Config != u.Config || s.After.Total != u.After.Total {
		t.Fatalf("exit %d; own and user files differ:\n%s\n%s\n%s%s", code, own, user, errs, errs2)
	}
	// Only the ECS dashboard's ADOT sidecar row reads series the stream
	// does not write.
	if !slices.Equal(s.NotInPayloads, dashboards.SidecarMetricNames()) || !strings.Contains(s.Config, "action: keep") {
		t.Errorf("not in payloads: %v, want the sidecar's %v; config:\n%s", s.NotInPayloads, dashboards.SidecarMetricNames(), s.Config)
	}
	if !(s.After.Total < s.Before.Total) {
		t.Errorf("suggested $%v, not less than $%v", s.After.Total, s.Before.Total)
	}
}
