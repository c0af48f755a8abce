package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	amg "github.com/aws/aws-sdk-go-v2/service/grafana"
	"github.com/aws/aws-sdk-go-v2/service/grafana/types"

	"github.com/cwstream/cwstream/internal/dashboards"
)

// WorkspaceAPI is the part of the AMG control plane the provisioner uses.
type WorkspaceAPI interface {
	DescribeWorkspace(context.Context, *amg.DescribeWorkspaceInput, ...func(*amg.Options)) (*amg.DescribeWorkspaceOutput, error)
	ListWorkspaceServiceAccounts(context.Context, *amg.ListWorkspaceServiceAccountsInput, ...func(*amg.Options)) (*amg.ListWorkspaceServiceAccountsOutput, error)
	CreateWorkspaceServiceAccount(context.Context, *amg.CreateWorkspaceServiceAccountInput, ...func(*amg.Options)) (*amg.CreateWorkspaceServiceAccountOutput, error)
	DeleteWorkspaceServiceAccount(context.Context, *amg.DeleteWorkspaceServiceAccountInput, ...func(*amg.Options)) (*amg.DeleteWorkspaceServiceAccountOutput, error)
	CreateWorkspaceServiceAccountToken(context.Context, *amg.CreateWorkspaceServiceAccountTokenInput, ...func(*amg.Options)) (*amg.CreateWorkspaceServiceAccountTokenOutput, error)
	DeleteWorkspaceServiceAccountToken(context.Context, *amg.DeleteWorkspaceServiceAccountTokenInput, ...func(*amg.Options)) (*amg.DeleteWorkspaceServiceAccountTokenOutput, error)
}

var _ WorkspaceAPI = (*amg.Client)(nil)

// Defaults of a Spec.
const (
	ServiceAccountName = "cwstream-provisioner"
	DataSourceName     = "cwstream AMP"
	FolderUID          = "cwstream"
	FolderTitle        = "cwstream"
	// SigV4AuthType makes Grafana sign AMP requests with the workspace's
	// IAM role ("ec2_iam_role" is what AMG calls its workspace role).
	SigV4AuthType = "ec2_iam_role"
	// TokenTTL is how long the provisioning token lives if deleting it
	// fails: long enough for a sync, short enough not to matter.
	TokenTTL = 15 * time.Minute
)

// Spec is what to provision into which workspace.
type Spec struct {
	WorkspaceID string
	// Region is the AMP region, for the data source's SigV4 signing.
	Region string
	// PrometheusURL is the AMP workspace's query URL
	// (https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-ID/).
	// Empty leaves the data source alone (Sync) or in place (Remove).
	PrometheusURL  string
	DataSourceUID  string
	DataSourceName string
	SigV4AuthType  string
	FolderUID      string
	FolderTitle    string
	Dashboards     []dashboards.Model
}

// NewSpec returns the spec for cwstream's dashboards with the defaults.
func NewSpec(workspaceID, region, prometheusURL string) (Spec, error) {
	models, err := dashboards.JSON()
	if err != nil {
		return Spec{}, err
	}
	s := Spec{
		WorkspaceID:    workspaceID,
		Region:         region,
		PrometheusURL:  prometheusURL,
		DataSourceUID:  dashboards.DataSourceUID,
		DataSourceName: DataSourceName,
		SigV4AuthType:  SigV4AuthType,
		FolderUID:      FolderUID,
		FolderTitle:    FolderTitle,
		Dashboards:     models,
	}
	return s, s.Validate()
}

// Validate reports the first field that cannot work.
func (s Spec) Validate() error {
	switch {
	case !strings.HasPrefix(s.WorkspaceID, "g-"):
		return fmt.Errorf("grafana spec: workspace id %q does not look like g-…", s.WorkspaceID)
	case s.Region == "":
		return errors.New("grafana spec: region is empty")
	case s.DataSourceUID == "" || s.FolderUID == "" || s.FolderTitle == "":
		return errors.New("grafana spec: data source uid, folder uid and folder title are required")
	case s.PrometheusURL != "" && (s.DataSourceName == "" || s.SigV4AuthType == ""):
		return errors.New("grafana spec: a data source needs a name and a SigV4 auth type")
	}
	if s.PrometheusURL != "" {
		u, err := url.Parse(s.PrometheusURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("grafana spec: prometheus url %q is not an http(s) URL", s.PrometheusURL)
		}
	}
	for i, d := range s.Dashboards {
		if d.UID == "" || !json.Valid(d.JSON) {
			return fmt.Errorf("grafana spec: dashboard %d (%q): no uid or invalid JSON", i, d.UID)
		}
	}
	return nil
}

// Provisioner applies Specs to AMG workspaces.
type Provisioner struct {
	aws   WorkspaceAPI
	http  *http.Client
	log   *slog.Logger
	now   func() time.Time
	retry RetryPolicy
	// sleep and jitter are the retry waits, replaceable in tests.
	sleep  func(context.Context, time.Duration) error
	jitter func(max time.Duration) time.Duration
}

// NewProvisioner returns a provisioner using the AMG control plane api and
// httpClient (nil: a client with a 30 s timeout) for the Grafana API.
func NewProvisioner(api WorkspaceAPI, httpClient *http.Client, log *slog.Logger) *Provisioner {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Provisioner{aws: api, http: httpClient, log: log, now: time.Now,
		retry: DefaultRetryPolicy, sleep: sleepCtx, jitter: fullJitter}
}

// Result says what a Sync did.
type Result struct {
	Endpoint          string
	DataSourceCreated bool
	FolderCreated     bool
	Dashboards        []string // UIDs saved
}

// Sync upserts the data source (when s.PrometheusURL is set), the folder and
// the dashboards.
func (p *Provisioner) Sync(ctx context.Context, s Spec) (Result, error) {
	if err := s.Validate(); err != nil {
		return Result{}, err
	}
	var res Result
	r := p.newRetrier()
	err := p.withAPI(ctx, r, s.WorkspaceID, func(a *api) error {
		res.Endpoint = a.base
		if s.PrometheusURL != "" {
			ds := dataSource{
				UID:    s.DataSourceUID,
				Name:   s.DataSourceName,
				Type:   "prometheus",
				Access: "proxy",
				URL:    s.PrometheusURL,
				JSONData: map[string]any{
					"httpMethod":    "POST",
					"sigV4Auth":     true,
					"sigV4AuthType": s.SigV4AuthType,
					"sigV4Region":   s.Region,
					// CloudWatch data comes once a minute: a finer step only
					// draws gaps.
					"timeInterval": "60s",
				},
			}
			// Each step is an idempotent upsert by UID, so a retry of the
			// whole step is safe whatever the failed try did.
			err := r.do(ctx, "data source", func() (err error) {
				res.DataSourceCreated, err = a.upsertDataSource(ctx, ds)
				return err
			})
			if err != nil {
				return fmt.Errorf("data source %s: %w", s.DataSourceUID, err)
			}
		}
		err := r.do(ctx, "folder", func() (err error) {
			res.FolderCreated, err = a.upsertFolder(ctx, s.FolderUID, s.FolderTitle)
			return err
		})
		if err != nil {
			return fmt.Errorf("folder %s: %w", s.FolderUID, err)
		}
		for _, d := range s.Dashboards {
			if err := r.do(ctx, "dashboard", func() error { return a.upsertDashboard(ctx, d.JSON, s.FolderUID) }); err != nil {
				return fmt.Errorf("dashboard %s: %w", d.UID, err)
			}
			res.Dashboards = append(res.Dashboards, d.UID)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("grafana sync of workspace %s: %w", s.WorkspaceID, err)
	}
	p.log.Info("grafana synced", "workspace", s.WorkspaceID, "endpoint", res.Endpoint,
		"dashboards", len(res.Dashboards), "data_source_created", res.DataSourceCreated, "folder_created", res.FolderCreated)
	return res, nil
}

// Remove deletes what Sync creates: the dashboards, the folder, the data
// source (when s.PrometheusURL is set) and the provisioning service account.
// What is already gone is skipped, so Remove can be repeated.
func (p *Provisioner) Remove(ctx context.Context, s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	r := p.newRetrier()
	err := p.withAPI(ctx, r, s.WorkspaceID, func(a *api) error {
		del := func(what, path string) error {
			return r.do(ctx, what, func() error { return a.deleteIfExists(ctx, path) })
		}
		for _, d := range s.Dashboards {
			if err := del("dashboard", "/api/dashboards/uid/"+url.PathEscape(d.UID)); err != nil {
				return fmt.Errorf("dashboard %s: %w", d.UID, err)
			}
		}
		if err := del("folder", "/api/folders/"+url.PathEscape(s.FolderUID)); err != nil {
			return fmt.Errorf("folder %s: %w", s.FolderUID, err)
		}
		if s.PrometheusURL != "" {
			if err := del("data source", "/api/datasources/uid/"+url.PathEscape(s.DataSourceUID)); err != nil {
				return fmt.Errorf("data source %s: %w", s.DataSourceUID, err)
			}
		}
		return nil
	})
	if err == nil {
		err = p.deleteServiceAccount(ctx, s.WorkspaceID)
	}
	var gone *types.ResourceNotFoundException
	if errors.As(err, &gone) {
		// The workspace itself is gone, and its content with it.
		p.log.Info("grafana workspace not found, nothing to remove", "workspace", s.WorkspaceID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("grafana remove from workspace %s: %w", s.WorkspaceID, err)
	}
	p.log.Info("grafana content removed", "workspace", s.WorkspaceID)
	return nil
}

// withAPI finds the workspace endpoint, mints a short-lived token for the
// provisioning service account, runs fn with an API client using it, and
// deletes the token afterwards even when fn or ctx failed.
//
// The workspace must be ACTIVE with an endpoint; until it is, the
// description is asked again within r's budget. (The AWS SDK retries the
// control-plane calls' own throttling and 5xx.)
func (p *Provisioner) withAPI(ctx context.Context, r *retrier, workspaceID string, fn func(*api) error) error {
	var base string
	err := r.do(ctx, "describe workspace", func() error {
		ws, err := p.aws.DescribeWorkspace(ctx, &amg.DescribeWorkspaceInput{WorkspaceId: aws.String(workspaceID)})
		if err != nil {
			return err
		}
		if ws.Workspace == nil {
			return errors.New("answer has no workspace")
		}
		base = aws.ToString(ws.Workspace.Endpoint)
		if st := ws.Workspace.Status; st != types.WorkspaceStatusActive || base == "" {
			return &workspaceNotReadyError{status: string(st), endpoint: base}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("describe workspace: %w", err)
	}
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	base = strings.TrimSuffix(base, "/")

	saID, err := p.serviceAccount(ctx, workspaceID)
	if err != nil {
		return err
	}
	tok, err := p.aws.CreateWorkspaceServiceAccountToken(ctx, &amg.CreateWorkspaceServiceAccountTokenInput{
		WorkspaceId:      aws.String(workspaceID),
		ServiceAccountId: aws.String(saID),
		// Token names are unique per service account.
		Name:          aws.String("cwstream-" + strconv.FormatInt(p.now().UnixNano(), 36)),
		SecondsToLive: aws.Int32(int32(TokenTTL / time.Second)),
	})
	if err != nil {
		return fmt.Errorf("create service account token: %w", err)
	}
	if tok.ServiceAccountToken == nil || aws.ToString(tok.ServiceAccountToken.Key) == "" {
		return errors.New("create service account token: answer has no key")
	}
	tokenID := aws.ToString(tok.ServiceAccountToken.Id)

	runErr := fn(&api{base: base, token: aws.ToString(tok.ServiceAccountToken.Key), http: p.http})

	// Delete the token even if ctx is done: it is a credential.
	cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, delErr := p.aws.DeleteWorkspaceServiceAccountToken(cleanupCtx, &amg.DeleteWorkspaceServiceAccountTokenInput{
		WorkspaceId:      aws.String(workspaceID),
		ServiceAccountId: aws.String(saID),
		TokenId:          aws.String(tokenID),
	})
	if delErr != nil {
		delErr = fmt.Errorf("delete service account token %s (it expires in %s): %w", tokenID, TokenTTL, delErr)
	}
	return errors.Join(runErr, delErr)
}

// serviceAccount returns the id of the provisioning service account,
// creating it (with the Admin role data sources need) the first time.
func (p *Provisioner) serviceAccount(ctx context.Context, workspaceID string) (string, error) {
	id, err := p.findServiceAccount(ctx, workspaceID)
	if err != nil || id != "" {
		return id, err
	}
	out, err := p.aws.CreateWorkspaceServiceAccount(ctx, &amg.CreateWorkspaceServiceAccountInput{
		WorkspaceId: aws.String(workspaceID),
		Name:        aws.String(ServiceAccountName),
		GrafanaRole: types.RoleAdmin,
	})
	if err != nil {
		return "", fmt.Errorf("create service account %s: %w", ServiceAccountName, err)
	}
	p.log.Info("grafana service account created", "workspace", workspaceID, "id", aws.ToString(out.Id))
	return aws.ToString(out.Id), nil
}

// findServiceAccount returns the id of the account named
// ServiceAccountName, or "" when there is none.
func (p *Provisioner) findServiceAccount(ctx context.Context, workspaceID string) (string, error) {
	var next *string
	for {
		out, err := p.aws.ListWorkspaceServiceAccounts(ctx, &amg.ListWorkspaceServiceAccountsInput{
			WorkspaceId: aws.String(workspaceID),
			NextToken:   next,
		})
		if err != nil {
			return "", fmt.Errorf("list service accounts: %w", err)
		}
		for _, sa := range out.ServiceAccounts {
			if aws.ToString(sa.Name) == ServiceAccountName {
				return aws.ToString(sa.Id), nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return "", nil
		}
		next = out.NextToken
	}
}

func (p *Provisioner) deleteServiceAccount(ctx context.Context, workspaceID string) error {
	id, err := p.findServiceAccount(ctx, workspaceID)
	if err != nil || id == "" {
		return err
	}
	if _, err := p.aws.DeleteWorkspaceServiceAccount(ctx, &amg.DeleteWorkspaceServiceAccountInput{
		WorkspaceId:      aws.String(workspaceID),
		ServiceAccountId: aws.String(id),
	}); err != nil {
		return fmt.Errorf("delete service account %s: %w", id, err)
	}
	return nil
}
