using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HardenedGateway.Benchmarks.LoadHosts;

/// <summary>
/// What every load-test host shares: the builder, the ready line, and stopping by itself; and, for the
/// scenarios that run their upstream and proxies in one process, starting such a host and reading its address.
/// </summary>
internal static class LoadHostCommon
{
    /// <summary>Creates the builder as an application would (<c>WebApplication.CreateBuilder</c>), logging warnings and above only.</summary>
    /// <remarks>
    /// Per-request Information logs (YARP's "Proxying to", the gateway's request event) are off in every
    /// host alike, as in a production deployment at Warning; <c>--Logging:LogLevel:Default Information</c> turns them on.
    /// </remarks>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        return builder;
    }

    /// <summary>Listens on a free loopback port and returns the listen options, whose port is the bound one once started.</summary>
    public static ListenOptions ListenOnFreeLoopbackPort(KestrelServerOptions kestrel)
    {
        ListenOptions? bound = null;
        kestrel.Listen(IPAddress.Loopback, 0, options => bound = options);
        return bound!;
    }

    /// <summary>Starts the app, prints <c>LISTENING &lt;port&gt;...</c>, and runs until stopped, orphaned or past its lifetime.</summary>
    /// <param name="app">The app.</param>
    /// <param name="listeners">Its listeners; their bound ports are printed.</param>
    /// <param name="afterStart">Runs once the app listens and before the ready line (the overload scenario trips a breaker there).</param>
    public static async Task<int> RunAsync(WebApplication app, IReadOnlyList<ListenOptions> listeners, Func<int, Task>? afterStart = null)
    {
        var maxLifetime = TimeSpan.FromSeconds(app.Configuration.GetValue("maxLifetime", 3600));
        var parentPid = app.Configuration.GetValue<int?>("parentPid");

        await app.StartAsync();
        if (afterStart is not null)
        {
            await afterStart(listeners[0].IPEndPoint!.Port);
        }

        var ports = string.Join(' ', listeners.Select(listener => listener.IPEndPoint!.Port));
        Console.WriteLine($"LISTENING {ports}");
        Console.Out.Flush();

        var started = Stopwatch.GetTimestamp();
        using var watchdog = new Timer(
            _ =>
            {
                if (Stopwatch.GetElapsedTime(started) > maxLifetime || (parentPid is { } pid && !ProcessExists(pid)))
                {
                    app.Lifetime.StopApplication();
                }
            },
            null,
            TimeSpan.FromSeconds(1),
            TimeSpan.FromSeconds(1));

        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>Builds and starts an in-process host (slim builder, no logging) on a free loopback port.</summary>
    /// <param name="configure">Adds the host's configuration and services.</param>
    /// <param name="map">Maps its endpoints, if any.</param>
    public static async Task<WebApplication> StartInProcessAsync(Action<WebApplicationBuilder> configure, Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(static kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        configure(builder);
        var app = builder.Build();
        map?.Invoke(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>The started host's base address, ending in '/'.</summary>
    public static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    private static bool ProcessExists(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists($"/proc/{pid}");
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
