# Latency by percentile for the gateway benchmark (tests/bench/gateway_vs_ceiling.sh).
# Inputs: out (PNG path), gw, ce, gws (files of "percentile latency_us" rows).
set terminal pngcairo size 900,500 font ",11"
set output out
set title "Send latency by percentile, C=16 channels x P=32 in flight (2 cores)"
set xlabel "percentile"
set ylabel "latency (microseconds)"
set logscale y
set grid
set key top left
set xtics ("0" 0, "50" 50, "90" 90, "99" 99, "99.9" 99.9, "100" 100)
# Stretch the tail: plot against -log10(1 - p/100), capped at p = 99.99.
f(p) = p >= 99.99 ? 4 : -log10(1 - p / 100.0)
set xtics ("0" f(0), "50" f(50), "90" f(90), "99" f(99), "99.9" f(99.9), "99.99" f(99.99))
plot gw using (f($1)):2 with linespoints title "tcpgate unary (one backend)", \
     ce using (f($1)):2 with linespoints title "gRPC ceiling unary (no backend)", \
     gws using (f($1)):2 with linespoints title "tcpgate streaming"
