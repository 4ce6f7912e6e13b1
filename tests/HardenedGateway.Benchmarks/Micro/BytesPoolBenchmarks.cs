using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace HardenedGateway.Benchmarks.Micro;

/// <summary>Renting and returning a 32 KiB body buffer, against <see cref="ArrayPool{T}.Shared"/> as a reference.</summary>
public class BytesPoolBenchmarks
{
    private const int OperationsPerThread = 20_000;
    private const int Threads = 2;

    private readonly BytesPool _pool = new();

    [GlobalSetup]
    public void Setup() => _pool.Return(_pool.Rent());

    [Benchmark(Baseline = true)]
    public int RentReturn()
    {
        var buffer = _pool.Rent();
        _pool.Return(buffer);
        return buffer.Length;
    }

    [Benchmark(OperationsPerInvoke = OperationsPerThread * Threads)]
    public void RentReturn_TwoThreads() =>
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, _ =>
        {
            for (var i = 0; i < OperationsPerThread; i++)
            {
                _pool.Return(_pool.Rent());
            }
        });

    [Benchmark]
    public int ArrayPoolShared_RentReturn()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BytesPool.BufferSize);
        ArrayPool<byte>.Shared.Return(buffer);
        return buffer.Length;
    }
}
