use super::*;

#[test]
fn flags_beat_the_file_which_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nsend-rate = 5\nallowed-origins = [\"https://a.example/\"]\n")
        .unwrap();
    let args = ServeArgs { send_rate: Some(7), ..ServeArgs::default() };
    let config = Config::load(Some(&path), args).unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.send_rate, 7);
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.allowed_origins, vec!["https://a.example".parse::<Origin>().unwrap()]);
}

#[test]
fn the_public_url_and_the_metrics_settings() {
    let serve = |extra: &[&str]| {
        let cli = Cli::try_parse_from([&["parley", "serve"], extra].concat()).unwrap();
        let Some(Command::Serve(args)) = cli.command else { unreachable!() };
        Config::load(None, *args)
    };
    let token = "0123456789abcdef";
    let config = serve(&[
        "--public-url",
        "https://Chat.example.com/",
        "--metrics-listen",
        "127.0.0.1:9090",
        "--metrics-token",
        token,
    ])
    .unwrap();
    assert_eq!(config.public_url.map(|u| u.to_string()).as_deref(), Some("https://chat.example.com"));
    assert_eq!(config.metrics_listen, Some("127.0.0.1:9090".parse().unwrap()));
    assert_eq!(config.metrics_token.as_ref().map(Secret::expose), Some(token));
    assert!(!format!("{:?}", config.metrics_token).contains(token));
    let defaults = serve(&[]).unwrap();
    assert!(defaults.public_url.is_none() && defaults.metrics_listen.is_none() && defaults.metrics_token.is_none());
    assert!(serve(&["--public-url", "https://chat.example.com/chat"]).is_err(), "a path");
    assert!(serve(&["--public-url", "chat.example.com"]).is_err(), "no scheme");
    assert!(serve(&["--allowed-origin", "https://a.example/x"]).is_err(), "a path");
    assert!(serve(&["--metrics-token", "short"]).is_err(), "a guessable token");
}

#[test]
fn cluster_mode_needs_kafka_and_a_database_and_keeps_the_password_out_of_debug() {
    let args = |extra: &[&str]| {
        let cli = Cli::try_parse_from([&["parley", "serve"], extra].concat()).unwrap();
        match cli.command {
            Some(Command::Serve(args)) => args,
            _ => unreachable!(),
        }
    };
    let db = ["--database", "postgres://parley:hunter2@db/parley"];
    let config = Config::load(None, *args(&[&db[..], &["--kafka", "k:9092", "--role", "gateway"]].concat())).unwrap();
    let cluster = config.cluster.clone().unwrap();
    assert_eq!((cluster.kafka.as_str(), cluster.role, cluster.partitions), ("k:9092", Role::Gateway, 12));
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(Config::load(None, *args(&["--kafka", "k:9092"])).is_err(), "kafka without a database");
    assert!(Config::load(None, *args(&["--role", "processor"])).is_err(), "a role without kafka");
    assert!(Config::load(None, *args(&db)).unwrap().cluster.is_none(), "PostgreSQL alone is one node");
}

#[test]
fn limits_come_from_flags_then_the_file_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.toml");
    let file = "header-timeout = 3\nmax-sessions-per-user = 5\ntrusted-proxies = [\"10.0.0.1\"]\n";
    std::fs::write(&path, file).unwrap();
    let cli = Cli::try_parse_from([
        "parley",
        "serve",
        "--max-sessions-per-user",
        "7",
        "--keepalive-timeout",
        "30",
        "--trusted-proxy",
        "127.0.0.1,::1,192.168.0.0/16",
    ])
    .unwrap();
    let Some(Command::Serve(args)) = cli.command else { unreachable!() };
    let config = Config::load(Some(&path), *args).unwrap();
    let limits = config.limits;
    assert_eq!(limits.header_timeout, Duration::from_secs(3), "from the file");
    assert_eq!(limits.keepalive_timeout, Duration::from_secs(30), "from the flag");
    assert_eq!(limits.max_sessions_per_user, 7, "the flag beats the file");
    assert_eq!((limits.body_timeout, limits.body_min_rate), (Duration::from_secs(10), 1024), "defaults");
    assert_eq!((limits.max_sessions_per_address, limits.max_connections), (200, None));
    let proxies: Vec<TrustedProxy> =
        ["10.0.0.1", "127.0.0.1", "::1", "192.168.0.0/16"].iter().map(|a| a.parse().unwrap()).collect();
    assert_eq!(config.trusted_proxies, proxies);
    let zero =
        ServeArgs { limits: LimitArgs { header_timeout: Some(0), ..LimitArgs::default() }, ..ServeArgs::default() };
    assert!(Config::load(None, zero).is_err(), "a timeout of 0 s");
}

#[test]
fn rate_limits_are_the_file_s_then_the_flags_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.toml");
    std::fs::write(&path, "rate-limits = [\"channels=5/1m\", \"invites=0\"]\n").unwrap();
    let cli =
        Cli::try_parse_from(["parley", "serve", "--rate-limit", "channels=7/1h,all=0", "--rate-limit", "dms=1/1s"])
            .unwrap();
    let Some(Command::Serve(args)) = cli.command else { unreachable!() };
    let config = Config::load(Some(&path), *args).unwrap();
    let written: Vec<String> = config
        .rate_limits
        .iter()
        .map(|s| format!("{:?}={}", s.class, s.budget.map_or("0".into(), |b| b.to_string())))
        .collect();
    assert_eq!(written, ["Some(Channels)=5/1m", "Some(Invites)=0", "Some(Channels)=7/1h", "None=0", "Some(Dms)=1/1s"]);
    assert!(Cli::try_parse_from(["parley", "serve", "--rate-limit", "chanels=1/1s"]).is_err(), "a typo");
    std::fs::write(&path, "rate-limits = [\"channels=5\"]\n").unwrap();
    assert!(Config::load(Some(&path), ServeArgs::default()).is_err(), "no window");
}

#[test]
fn unknown_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.toml");
    std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
    assert!(Config::load(Some(&path), ServeArgs::default()).is_err());
}

#[test]
fn the_file_sets_what_the_flags_do_in_every_group() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.toml");
    let file = "data-dir = \"/srv/parley\"\nbody-min-rate = 2048\ntrusted-proxies = [\"10.0.0.0/8\"]\n";
    std::fs::write(&path, file).unwrap();
    let config = Config::load(Some(&path), ServeArgs::default()).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("/srv/parley"), "the store's group");
    assert_eq!(config.limits.body_min_rate, 2048, "the limits' group");
    assert_eq!(config.trusted_proxies, vec!["10.0.0.0/8".parse::<TrustedProxy>().unwrap()]);
    std::fs::write(&path, "[limits]\nbody-min-rate = 1\n").unwrap();
    let error = Config::load(Some(&path), ServeArgs::default()).unwrap_err();
    assert!(format!("{error:#}").contains("unknown setting `limits`"), "{error:#}");
}
