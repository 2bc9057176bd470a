"""deploy: approved model package -> endpoint (create or canary update); verify; live record."""
