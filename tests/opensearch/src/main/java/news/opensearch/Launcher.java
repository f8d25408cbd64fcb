package news.opensearch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.TransportService;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts ONE real OpenSearch 2.19.6 node in this JVM, from jars on the classpath (no distribution).
 *
 * <pre>
 * java -Xmx512m -jar target/os-launcher.jar \
 *   --cluster news-test --node node-0 --http 9200 --transport 9300 --home /tmp/os-x/node-0 \
 *   --seeds 127.0.0.1:9300,127.0.0.1:9301 --managers node-0,node-1 [-E key=value ...]
 * </pre>
 *
 * Plugins: Netty4 (HTTP + transport) and analysis-common (language analyzers, stemmers, ...).
 * No security plugin, so plain http. Bootstrap checks, the security manager and memory locking
 * belong to org.opensearch.bootstrap.Bootstrap, which is not used here.
 * Prints "OPENSEARCH-NODE-READY ..." on stdout once the node has started (it may still be joining).
 * SIGTERM closes the node cleanly; SIGKILL simulates a crash.
 */
public final class Launcher {

    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        org.opensearch.transport.Netty4Plugin.class,              // 3.x renames it Netty4ModulePlugin
        org.opensearch.analysis.common.CommonAnalysisPlugin.class // 3.x renames it CommonAnalysisModulePlugin
    );

    /** Node's constructor that takes classpath plugins is protected: the test framework's MockNode does the same. */
    static final class ClasspathPluginsNode extends Node {
        ClasspathPluginsNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    private static final String LOG4J2 = String.join("\n",
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
        "rootLogger.level = ${sys:opensearch.launcher.log.level:-info}",
        "rootLogger.appenderRef.console.ref = console",
        // the deprecation logger is noisy and not useful for tests
        "logger.deprecation.name = org.opensearch.deprecation",
        "logger.deprecation.level = error",
        "");

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            System.err.println("OPENSEARCH-NODE-FAILED " + t);
            t.printStackTrace();
            System.exit(1); // don't linger half-started: the shutdown hook closes what was opened
        }
    }

    private static void run(String[] args) throws Exception {
        String cluster = "opensearch-test", node = "node-0", home = null, seeds = null, managers = null;
        String host = "127.0.0.1";
        int http = 9200, transport = 9300;
        Settings.Builder extra = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--cluster": cluster = v; break;
                case "--node": node = v; break;
                case "--host": host = v; break;
                case "--http": http = Integer.parseInt(v); break;
                case "--transport": transport = Integer.parseInt(v); break;
                case "--home": home = v; break;
                case "--seeds": seeds = v; break;
                case "--managers": managers = v; break;
                case "-E": {
                    int eq = v.indexOf('=');
                    if (eq <= 0) usage("bad -E " + v);
                    extra.put(v.substring(0, eq), v.substring(eq + 1));
                    break;
                }
                default: usage("unknown option " + a);
            }
        }
        if (home == null) usage("--home is required");
        if (seeds == null) seeds = host + ":" + transport;
        if (managers == null) managers = node;

        Path homeDir = Paths.get(home).toAbsolutePath();
        Path configDir = homeDir.resolve("config");
        Files.createDirectories(configDir);
        Files.createDirectories(homeDir.resolve("data"));
        Files.createDirectories(homeDir.resolve("logs"));
        Path log4j = configDir.resolve("log4j2.properties");
        if (!Files.exists(log4j)) Files.write(log4j, LOG4J2.getBytes(StandardCharsets.UTF_8));

        Settings settings = Settings.builder()
            .put("cluster.name", cluster)
            .put("node.name", node)
            .put("path.home", homeDir.toString())
            .put("path.data", homeDir.resolve("data").toString())
            .put("path.logs", homeDir.resolve("logs").toString())
            .put("network.host", host)
            .put("http.port", http)
            .put("transport.port", transport)
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .putList("discovery.seed_hosts", seeds.split(","))
            .putList("cluster.initial_cluster_manager_nodes", managers.split(","))
            .put("bootstrap.memory_lock", false)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put(extra.build())
            .build();

        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), configDir, () -> "node");
        LogConfigurator.setNodeName(node);
        LogConfigurator.configure(env);

        long t0 = System.nanoTime();
        Node n = new ClasspathPluginsNode(env, PLUGINS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                n.close();
                n.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "opensearch-launcher-shutdown"));
        n.start();

        String httpAddr = n.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().toString();
        String tAddr = n.injector().getInstance(TransportService.class).boundAddress().publishAddress().toString();
        System.out.println("OPENSEARCH-NODE-READY cluster=" + cluster + " node=" + node + " http=" + httpAddr
            + " transport=" + tAddr + " pid=" + ProcessHandle.current().pid()
            + " started_in_ms=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        System.out.flush();
        // OpenSearch's threads are daemon threads: keep the JVM alive until a signal ends it.
        stopped.await();
    }

    private static void usage(String why) {
        System.err.println("error: " + why);
        System.err.println("usage: Launcher --home DIR [--cluster NAME] [--node NAME] [--host 127.0.0.1] [--http PORT]"
            + " [--transport PORT] [--seeds h:p,h:p] [--managers n0,n1] [-E key=value ...]");
        System.exit(2);
    }
}
