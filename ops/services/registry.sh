# Apicurio Registry (Confluent-compatible API at /apis/ccompat/v7), its runnable Quarkus distribution from
# Maven Central, on Java 21+ (Temurin 25), with its schemas kept in our PostgreSQL so ids survive restarts.
REGISTRY_DIR=$BIN_DIR/registry-$REGISTRY_VERSION

svc_ports() { echo "$REGISTRY_PORT $REGISTRY_MANAGEMENT_PORT"; }

registry_java() {
  if [[ -x $REGISTRY_JAVA_HOME/bin/java ]]; then echo "$REGISTRY_JAVA_HOME/bin/java"; return; fi
  local candidate
  for candidate in /usr/lib/jvm/*/bin/java; do
    if "$candidate" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then echo "$candidate"; return; fi
  done
  die "registry: Apicurio Registry needs Java 21 or newer; set REGISTRY_JAVA_HOME (apt-get install openjdk-21-jre-headless or a Temurin JDK)"
}

svc_install() {
  [[ -f $REGISTRY_DIR/quarkus-run.jar ]] && return 0
  say "registry: fetching Apicurio Registry $REGISTRY_VERSION from Maven Central"
  mvn -q -B -f "$SLOTSTREAM_ROOT/ops/registry/pom.xml" -Dregistry.version="$REGISTRY_VERSION" \
    -DoutputDirectory="$REGISTRY_DIR" package >"$LOG_DIR/maven-registry.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/maven-registry.log" >&2; die "registry: maven could not fetch Apicurio Registry"; }
  rm -rf "$SLOTSTREAM_ROOT/ops/registry/target"
}

svc_start() {
  local java
  java=$(registry_java)
  # A small pool: the registry is lightly used and PostgreSQL's connections are shared with the app.
  spawn registry env \
    QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT="$REGISTRY_PORT" \
    QUARKUS_MANAGEMENT_HOST=127.0.0.1 QUARKUS_MANAGEMENT_PORT="$REGISTRY_MANAGEMENT_PORT" \
    APICURIO_STORAGE_KIND=sql APICURIO_STORAGE_SQL_KIND=postgresql \
    APICURIO_DATASOURCE_URL="jdbc:postgresql://127.0.0.1:$POSTGRES_PORT/registry" \
    APICURIO_DATASOURCE_USERNAME="$POSTGRES_USER" APICURIO_DATASOURCE_PASSWORD="$POSTGRES_PASSWORD" \
    APICURIO_DATASOURCE_JDBC_INITIAL_SIZE=2 APICURIO_DATASOURCE_JDBC_MIN_SIZE=2 APICURIO_DATASOURCE_JDBC_MAX_SIZE=10 \
    QUARKUS_OTEL_SDK_DISABLED=true QUARKUS_LOG_LEVEL=WARN \
    "$java" -Xms128m -Xmx512m -XX:+UseSerialGC -jar "$REGISTRY_DIR/quarkus-run.jar"
}

svc_ready() {
  curl -fsS "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null
}
