# Apache Kafka, KRaft single node (broker + controller in one process), jars from Maven Central.
KAFKA_DIR=$BIN_DIR/kafka-$KAFKA_VERSION
KAFKA_DATA=$DATA_DIR/kafka
KAFKA_CONF=$KAFKA_DATA/server.properties

svc_ports() { echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"; }

svc_install() {
  command -v mvn >/dev/null || { say "kafka: installing maven from Debian"; apt-get update -qq && apt-get install -y -qq maven >/dev/null; }
  [[ -f $KAFKA_DIR/.complete ]] || say "kafka: fetching Kafka $KAFKA_VERSION jars from Maven Central"
  maven_fetch "$KAFKA_DIR" "$SLOTSTREAM_ROOT/ops/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION"
  mkdir -p "$KAFKA_DATA/logs"
  cat >"$KAFKA_CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA/logs
num.partitions=3
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Topics are created by the project (processors/topics), never by accident.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# Let consumer groups choose short sessions so a dead worker's partitions move quickly.
group.min.session.timeout.ms=2000
log.retention.hours=168
log.cleaner.enable=true
PROPS
  if [[ ! -f $KAFKA_DATA/logs/meta.properties ]]; then
    local cluster_id
    cluster_id=$(java -cp "$KAFKA_DIR/lib/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    java -Dlog4j2.configurationFile="$SLOTSTREAM_ROOT/ops/kafka/log4j2.yaml" -cp "$KAFKA_DIR/lib/*" kafka.tools.StorageTool \
      format -t "$cluster_id" -c "$KAFKA_CONF" --standalone >>"$(log_file kafka)" 2>&1 \
      || fail_with_log kafka "storage format failed"
  fi
}

svc_start() {
  spawn kafka env KAFKA_HEAP_OPTS= java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$SLOTSTREAM_ROOT/ops/kafka/log4j2.yaml" \
    -cp "$KAFKA_DIR/lib/*" kafka.Kafka "$KAFKA_CONF"
}

# Ready means the broker answers a metadata request through the admin API, not merely that the port is open.
svc_ready() {
  java -Dlog4j2.configurationFile="$SLOTSTREAM_ROOT/ops/kafka/log4j2.yaml" -cp "$KAFKA_DIR/lib/*" \
    org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
}
