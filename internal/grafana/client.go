// Package grafana provisions cwstream's dashboards into an Amazon Managed
// Grafana (AMG) workspace: an AMP data source (Prometheus with SigV4 through
// the workspace's IAM role), a folder and the dashboards of package
// dashboards, all upserted by UID so running it again changes nothing.
//
// It talks to two APIs. The AMG control plane (aws-sdk-go-v2 service/grafana,
// behind the narrow WorkspaceAPI interface) finds the workspace endpoint and
// mints a short-lived service account token; the Grafana HTTP API of the
// workspace does the provisioning with that token, which is deleted at the
// end whatever happened.
//
// The same Provisioner serves `cwstream grafana sync` and the CloudFormation
// custom resource of lambda/grafana (CustomResource).
package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// APIError is a Grafana HTTP API answer other than 2xx.
type APIError struct {
	Method, Path string
	Status       int
	Body         string // the first KiB of the answer
}

func (e *APIError) Error() string {
	return fmt.Sprintf("grafana api: %s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// isNotFound reports whether err is a Grafana 404.
func isNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}

// api is an authenticated Grafana HTTP API client for one workspace.
type api struct {
	base  string // scheme://host, no trailing slash
	token string
	http  *http.Client
}

// maxBody caps how much of an answer is read: Grafana's answers here are
// small, an error page must not fill the Lambda's memory.
const maxBody = 4 << 20

// do sends body (JSON-encoded unless nil) and decodes a 2xx answer into out
// (unless nil). Other statuses come back as *APIError.
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("grafana api: %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("grafana api: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("grafana api: %s %s: %w", method, path, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("grafana api: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(data) > 1024 {
			data = data[:1024]
		}
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("grafana api: %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// dataSource is the Grafana data source model fields we set.
type dataSource struct {
	UID       string         `json:"uid"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Access    string         `json:"access"`
	URL       string         `json:"url"`
	IsDefault bool           `json:"isDefault"`
	JSONData  map[string]any `json:"jsonData"`
}

// upsertDataSource creates or replaces the data source with ds.UID.
func (a *api) upsertDataSource(ctx context.Context, ds dataSource) (created bool, err error) {
	path := "/api/datasources/uid/" + url.PathEscape(ds.UID)
	err = a.do(ctx, http.MethodGet, path, nil, nil)
	switch {
	case isNotFound(err):
		return true, a.do(ctx, http.MethodPost, "/api/datasources", ds, nil)
	case err != nil:
		return false, err
	default:
		return false, a.do(ctx, http.MethodPut, path, ds, nil)
	}
}

type folder struct {
	UID     string `json:"uid"`
	Title   string `json:"title"`
	Version int    `json:"version,omitempty"`
}

// upsertFolder creates the folder or renames it to title.
func (a *api) upsertFolder(ctx context.Context, uid, title string) (created bool, err error) {
	path := "/api/folders/" + url.PathEscape(uid)
	var cur folder
	err = a.do(ctx, http.MethodGet, path, nil, &cur)
	switch {
	case isNotFound(err):
		return true, a.do(ctx, http.MethodPost, "/api/folders", folder{UID: uid, Title: title}, nil)
	case err != nil:
		return false, err
	case cur.Title == title:
		return false, nil
	default:
		return false, a.do(ctx, http.MethodPut, path, map[string]any{"title": title, "version": cur.Version, "overwrite": true}, nil)
	}
}

// upsertDashboard saves a dashboard model by its UID into the folder.
func (a *api) upsertDashboard(ctx context.Context, model json.RawMessage, folderUID string) error {
	return a.do(ctx, http.MethodPost, "/api/dashboards/db", map[string]any{
		"dashboard": model,
		"folderUid": folderUID,
		"overwrite": true,
		"message":   "provisioned by cwstream",
	}, nil)
}

// deleteIfExists deletes path; a 404 means already gone.
func (a *api) deleteIfExists(ctx context.Context, path string) error {
	if err := a.do(ctx, http.MethodDelete, path, nil, nil); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
