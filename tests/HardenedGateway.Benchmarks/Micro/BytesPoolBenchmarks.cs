using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Renting and returning a 32 KiB body buffer, against <see cref="ArrayPool{T}.Shared"/> as a reference.</summary>
public class BytesPoolBenchmarks
{
    private readonly BytesPool _pool = new();
    private readonly Contention _contention = new();

    [GlobalSetup]
    public void Setup() => _pool.Return(_pool.Rent());

    [GlobalCleanup]
    public void Cleanup() => _contention.Dispose();

    [Benchmark(Baseline = true)]
    public int RentReturn()
    {
        var buffer = _pool.Rent();
        _pool.Return(buffer);
        return buffer.Length;
    }

    [Benchmark(OperationsPerInvoke = Contention.OperationsPerThread * Contention.Threads)]
    public void RentReturn_TwoThreads() => _contention.Run(_pool, static pool => pool.Return(pool.Rent()));

    [Benchmark]
    public int ArrayPoolShared_RentReturn()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BytesPool.BufferSize);
        ArrayPool<byte>.Shared.Return(buffer);
        return buffer.Length;
    }
}
