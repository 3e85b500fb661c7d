// DynamoDB Local bound to 127.0.0.1 only (scripts/dynamodb_local.py compiles and runs it).
//
// DynamoDB Local has no bind-address option: its DynamoDBProxyServer builds a Jetty Server(port),
// whose one connector listens on every interface. This starts the same server from the same
// command line (ServerRunner parses it: -port, -inMemory, -sharedDb, -disableTelemetry, -help),
// sets that connector's host to the loopback address before it starts, then starts it.
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
  private static final String HOST = "127.0.0.1";

  private LoopbackDynamoDBLocal() {}

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    if (proxy == null) {
      return; // -help, or arguments ServerRunner refused (it printed why)
    }
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) {
      throw new IllegalStateException("DynamoDB Local built no connector: cannot bind it to " + HOST);
    }
    for (Connector connector : connectors) {
      ((ServerConnector) connector).setHost(HOST);
    }
    proxy.start();
  }
}
