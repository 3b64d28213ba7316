// Temporal's time-skipping test server (io.temporal.testserver.TestServer, same arguments:
// `<port> [--enable-time-skipping]`), on a gRPC server that permits the clients' keepalive pings.
//
// The stock main builds grpc-java's default server, which allows a ping at most every 5 minutes and only
// while a call is open; the TypeScript client and the worker's native connection both ping every 30 s, so
// the server sent GOAWAY "too_many_pings" after about 90 s of real time and the worker stalled (any test
// file running that long timed out). The rest is the stock createPortBoundServer(port, lockTimeSkipping).
// scripts/temporal-test-server compiles this once (javac) and runs it.
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import java.util.concurrent.TimeUnit;

public final class KeepAliveTestServer {
  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 2 || (args.length == 2 && !"--enable-time-skipping".equalsIgnoreCase(args[1]))) {
      System.err.println("Usage: KeepAliveTestServer <port> [--enable-time-skipping]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    boolean lockTimeSkipping = args.length < 2;
    TestServicesStarter services = new TestServicesStarter(lockTimeSkipping, 0);
    NettyServerBuilder builder =
        NettyServerBuilder.forPort(port, InsecureServerCredentials.create())
            // Clients ping every 30 s, with or without a call open: allow any (local, our own clients).
            .permitKeepAliveTime(0, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true);
    GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder);
    Server server = builder.build().start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.shutdownNow();
                  services.close();
                }));
  }
}
