package promquery

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestQuery(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		want    string // Format output
		wantErr string
	}{
		{"vector", 200, `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"lb":"app/web/1","a":"x"},"value":[1710238560.000,"6207"]},
			{"metric":{"lb":"app/api/2"},"value":[1710238560,"1.5"]}]}}`,
			"{a=\"x\", lb=\"app/web/1\"} => 6207\n{lb=\"app/api/2\"} => 1.5\n", ""},
		{"empty", 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`, "(empty result)\n", ""},
		{"scalar", 200, `{"status":"success","data":{"resultType":"scalar","result":[1710238560,"3"]}}`, "{} => 3\n", ""},
		{"bad expr", 400, `{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`, "", "HTTP 400 (bad_data): parse error"},
		{"matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"lb":"x"},"values":[[1710238620,"2"],[1710238560.5,"1"]]}]}}`,
			"{lb=\"x\"} => 1 @1710238560500, 2 @1710238620000\n", ""},
		{"string", 200, `{"status":"success","data":{"resultType":"string","result":[1,"a"]}}`, "", `result type "string"`},
		{"not the API", 502, `<html>bad gateway</html>`, "", "HTTP 502: <html>bad gateway</html>"},
		{"success without data", 200, `{"status":"success"}`, "", "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/query" || r.URL.Query().Get("query") != "up" || r.URL.Query().Get("time") != "1710238560.000" {
					t.Errorf("request %s", r.URL)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, err := New(srv.URL+"/", srv.Client()).Query(context.Background(), "up", time.UnixMilli(1710238560000))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := Format(&b, got); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestParseMillis(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"1677628860.123", 1677628860123},
		{"1677628860.1", 1677628860100},
		{"1677628860", 1677628860000},
		{"0.001", 1},
		{"-1.5", -1500},
		{"1.6776288601e9", 1677628860100},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseMillis(c.in)
			if err != nil || got != c.want {
				t.Errorf("parseMillis(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
			if !strings.ContainsAny(c.in, "e") {
				if back, _ := parseMillis(apiTime(got)); back != got {
					t.Errorf("apiTime(%d) = %q reads back as %d", got, apiTime(got), back)
				}
			}
		})
	}
	for _, bad := range []string{"", "x", "1.2.3", "1.abc"} {
		if _, err := parseMillis(bad); err == nil {
			t.Errorf("parseMillis(%q): no error", bad)
		}
	}
}

// A series look-up: match[], start and end reach the API; the answer comes
// sorted; an error answer is an *APIError with the API's fields.
func TestSeries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/api/v1/series" || q.Get("start") != "1710238560.000" || q.Get("end") != "1710238620.500" {
			t.Errorf("request %s", r.URL)
		}
		if q.Get("match[]") == "bad{" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
			return
		}
		w.Write([]byte(`{"status":"success","data":[{"__name__":"m","k":"b"},{"__name__":"m","k":"a"}]}`))
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	start, end := time.UnixMilli(1710238560000), time.UnixMilli(1710238620500)
	got, err := c.Series(context.Background(), "m", start, end)
	if err != nil || len(got) != 2 || got[0]["k"] != "a" || got[1]["k"] != "b" {
		t.Fatalf("Series = %v, %v", got, err)
	}
	_, err = c.Series(context.Background(), "bad{", start, end)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.ErrorType != "bad_data" || apiErr.Message != "parse error" {
		t.Fatalf("error %v, want the API's bad_data", err)
	}
}

// A range query sends start, end and step as the API reads them and
// returns the matrix, points in time order.
func TestQueryRange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/api/v1/query_range" || q.Get("query") != "m" || q.Get("start") != "1710236760.000" || q.Get("end") != "1710238560.000" || q.Get("step") != "60" {
			t.Errorf("request %s", r.URL)
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"k":"a"},"values":[[1710238560,"2"],[1710238500,"1"]]}]}}`))
	}))
	defer srv.Close()
	end := time.UnixMilli(1710238560000)
	got, err := New(srv.URL, nil).QueryRange(context.Background(), "m", end.Add(-30*time.Minute), end, time.Minute)
	if err != nil || len(got) != 1 || len(got[0].Points) != 2 || got[0].Points[0] != (Point{T: 1710238500000, V: 1}) {
		t.Fatalf("QueryRange = %+v, %v", got, err)
	}
}
