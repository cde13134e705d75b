# inputs.cloudwatch against the loopback CloudWatch stand-in: requests and
# seconds for 1,000 metric x statistic queries, CPU per gather
# (bench/cloudwatch.sh; `make bench-cloudwatch`).
EXTRA_DIST += bench/cloudwatch.sh
bench-cloudwatch: plugin-dir
	@top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	  $(SHELL) $(top_srcdir)/bench/cloudwatch.sh
.PHONY: bench-cloudwatch
