"""Dashboard builder (imported as `achats.dashboards`): one offline HTML page from the contract views."""
