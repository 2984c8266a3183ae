// Readiness probe used by infra/scripts/kafka-up.sh: waits until a Kafka broker answers real
// metadata requests (DescribeCluster + ListTopics through the Admin client), not just TCP.
//
// Usage: java -cp '<libs>/*:<classes>' KafkaReady <bootstrap> <timeoutSeconds> [pidToWatch]
// Exit codes: 0 ready, 1 timeout, 2 watched process exited.
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;

public final class KafkaReady {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    ProcessHandle watched = args.length > 2 ? ProcessHandle.of(Long.parseLong(args[2])).orElse(null) : null;
    if (args.length > 2 && watched == null) {
      System.err.println("watched process " + args[2] + " is not running");
      System.exit(2);
    }
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    String last = "no attempt";
    try (Admin admin = Admin.create(p)) {
      while (System.nanoTime() < deadline) {
        if (watched != null && !watched.isAlive()) {
          System.err.println("broker process " + watched.pid() + " exited");
          System.exit(2);
        }
        try {
          DescribeClusterResult c = admin.describeCluster();
          int nodes = c.nodes().get(3, TimeUnit.SECONDS).size();
          String clusterId = c.clusterId().get(3, TimeUnit.SECONDS);
          int topics = admin.listTopics().names().get(3, TimeUnit.SECONDS).size();
          if (nodes > 0) {
            System.out.println("[kafka-up] ready: cluster " + clusterId + ", " + nodes + " broker(s), " + topics + " topic(s)");
            System.exit(0);
          }
          last = "no live brokers in metadata yet";
        } catch (Exception e) {
          last = e.getCause() != null ? e.getCause().toString() : e.toString();
        }
        Thread.sleep(250);
      }
    }
    System.err.println("[kafka-up] timed out waiting for " + bootstrap + ": " + last);
    System.exit(1);
  }
}
