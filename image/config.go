package image

import "time"

// Config is the image configuration: the OCI image config with the Docker
// extensions (healthcheck, shell, onbuild, stop signal) that builders write,
// less its history, which lives paired with the layers in Image.History.
type Config struct {
	Created      *time.Time `json:"created,omitempty"`
	Author       string     `json:"author,omitempty"`
	Architecture string     `json:"architecture,omitempty"`
	OS           string     `json:"os,omitempty"`
	OSVersion    string     `json:"os.version,omitempty"`
	OSFeatures   []string   `json:"os.features,omitempty"`
	Variant      string     `json:"variant,omitempty"`
	// DockerVersion, Container and Comment are Docker extensions.
	DockerVersion string          `json:"docker_version,omitempty"`
	Container     string          `json:"container,omitempty"`
	Comment       string          `json:"comment,omitempty"`
	Config        ContainerConfig `json:"config"`
	RootFS        RootFS          `json:"rootfs"`
}

// ConfigFile is an image config blob as stored: the Config and its
// history. It is what a transport decodes; the model keeps the history once,
// paired with the layers, in Image.History (see Image.SetHistory).
type ConfigFile struct {
	Config
	History []History `json:"history,omitempty"`
}

// ContainerConfig is the run-time part of the config.
type ContainerConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	Healthcheck  *Healthcheck        `json:"Healthcheck,omitempty"`
	Shell        []string            `json:"Shell,omitempty"`
	OnBuild      []string            `json:"OnBuild,omitempty"`
	ArgsEscaped  bool                `json:"ArgsEscaped,omitempty"`
	Hostname     string              `json:"Hostname,omitempty"`
	Domainname   string              `json:"Domainname,omitempty"`
	Image        string              `json:"Image,omitempty"`
}

// Healthcheck is Docker's HEALTHCHECK. Durations are nanoseconds, as stored.
type Healthcheck struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// RootFS lists the uncompressed layer digests.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History is one entry of the config's history, as stored.
type History struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Author     string     `json:"author,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"empty_layer,omitempty"`
}
