"""Job-shop scheduling (J||Cmax) with dispatching rules in a Giffler–Thompson builder."""
