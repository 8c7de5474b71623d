def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_missing_token_is_401_with_butter_body(api, db):
    response = api.get("/v2/content/team_members/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_unknown_token_is_401_invalid(api, db):
    response = api.get("/v2/content/team_members/", {"auth_token": "nope" * 10})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_get_without_slash_redirects_keeping_query(api, db):
    response = api.get("/v2/content/team_members?auth_token=x&page=2")
    assert response.status_code == 301
    assert response["Location"] == "/v2/content/team_members/?auth_token=x&page=2"
