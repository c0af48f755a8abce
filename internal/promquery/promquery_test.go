package promquery

import (
	"bytes"
	"context"
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
		{"bad expr", 400, `{"status":"error","errorType":"bad_data","error":"parse error at char 3"}`, "", "HTTP 400: bad_data: parse error"},
		{"matrix", 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "", `result type "matrix"`},
		{"not the API", 502, `<html>bad gateway</html>`, "", "HTTP 502, not a Prometheus API answer"},
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
			got, err := Query(context.Background(), srv.Client(), srv.URL+"/", "up", time.UnixMilli(1710238560000))
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
