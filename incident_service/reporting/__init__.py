"""The reporting clock: policies (data files), deadlines, filings, waivers and the alerts they schedule."""
